"""The `personal` command line: thin commands over the library."""
