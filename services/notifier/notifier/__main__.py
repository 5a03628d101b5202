"""`python -m notifier run|serve|worker`."""

from __future__ import annotations

import sys

from ccshared.runner import main

from .config import PORT, Settings

if __name__ == "__main__":
    sys.exit(
        main(
            sys.argv[1:],
            app_spec="notifier.app:from_env()",
            worker_spec="notifier.worker:tasks",
            port=PORT,
            check_settings=lambda mode: Settings.from_env(),
        )
    )
