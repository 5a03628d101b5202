"""`python -m notifier run|serve|worker`."""

from __future__ import annotations

import sys

from ccshared.runner import main

from .config import PORT, Settings

if __name__ == "__main__":
    sys.exit(
        main(
            sys.argv[1:],
            package="notifier",
            port=PORT,
            check_settings=lambda mode: Settings.from_env(),
        )
    )
