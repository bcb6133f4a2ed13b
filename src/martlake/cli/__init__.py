"""The `martlake` command line: a thin skin over the library."""
