"""Local topologies (primary, replica, delayed replica) for demos, drills and tests."""
