"""Sub-commands of ``xai``; each module has ``add_parser(subparsers, common)``."""
