"""Recovery planning in pure code, one module per concern; `drkit.pitr.plan` is its front."""
