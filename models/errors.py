"""The one base of every error that means "bad input": the command line exits 2 with its message.

Kept free of heavy imports so that the command line can catch it without loading torch or pandas.
"""


class InputError(ValueError):
    """Bad input from the user (data, configuration, checkpoint, command line): a clear message
    naming the file and the problem, never a traceback."""
