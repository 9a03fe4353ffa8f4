"""`drkit guard`: freeze every delayed replica the moment a destructive transaction reaches the primary."""
