"""``python -m rttp``: the ``rttp`` command."""

import sys

from ._cli import main

sys.exit(main())
