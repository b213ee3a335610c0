"""``python -m xai``: the ``xai`` command."""

import sys

from xai.commands.cli import main

sys.exit(main())
