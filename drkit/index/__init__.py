"""The SQLite index of the primary's transactions: schema, writer with checkpoint, queries."""
