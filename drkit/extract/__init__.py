"""Copying a rescued table from the frozen delayed replica into the primary."""
