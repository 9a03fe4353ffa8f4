"""drkit: disaster recovery for MySQL and MariaDB built around a delayed replica."""

__version__ = "0.1.0"
