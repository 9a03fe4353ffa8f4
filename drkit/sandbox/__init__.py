"""Local topologies for demos, drills and tests."""
