"""Errors the command line turns into exit code 2."""

from models.errors import InputError


class UsageError(InputError):
    """Bad command-line input that argparse could not catch (a bad config file, say)."""
