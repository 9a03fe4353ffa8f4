"""Retention: `[retention]` applied to the index and the archive, never removing what a delayed
replica, a recorded recovery or the archive's writer can still need (`plan` decides, `run` acts)."""
