"""``python -m chainrule.cli``: the same entry point as the ``chainrule`` script."""

from __future__ import annotations

import sys

from chainrule.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
