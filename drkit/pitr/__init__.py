"""The point-in-time engine: resolve a target, plan the recovery as a value, execute the plan."""
