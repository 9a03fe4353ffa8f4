"""Reversing row changes from the archive's row images: the plan (pure), its SQL, and its run."""
