"""Promotion of the delayed replica: the plan (pure), the fates of the other nodes, the run."""
