"""Pure values describing servers, coordinates and replication state. No I/O here."""
