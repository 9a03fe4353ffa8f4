"""The only modules that touch servers, other programs' files and subprocesses."""
