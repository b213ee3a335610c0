"""``python -m xai``: the ``xai`` command."""

import sys

from xai.cli import main

sys.exit(main())
