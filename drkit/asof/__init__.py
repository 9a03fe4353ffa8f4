"""`drkit asof`: one table as it was at a time earlier than the delayed replica, rewound from the archive."""
