"""The ``xai`` command line: one module per sub-command."""
