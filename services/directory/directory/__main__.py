"""python -m directory run | serve | worker | load-sample"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from ccshared import logs, runner
from ccshared.config import ConfigError
from ccshared.store import connect
from ccshared.timeutil import SystemClock

from . import bootstrap
from .config import PORT, SERVICE, Settings
from .sample import load_sample

COMMANDS = {"load-sample": "load the SAMPLE centres, idempotently (DIRECTORY_LOAD_SAMPLE does it at run)"}


def load_sample_command() -> int:
    settings = Settings.from_env()
    logs.configure(SERVICE, settings.log_level)
    store = connect(settings.store_url)
    try:
        loaded = load_sample(bootstrap.directory_service(settings, store, SystemClock()))
    finally:
        store.close()
    print(json.dumps({"sample_centres_created": loaded.created, "already_present": loaded.existing}))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["load-sample"]:
            return load_sample_command()
        if args[:1] in ([], ["run"]) and Settings.from_env().load_sample:
            load_sample_command()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    return runner.main(
        args,
        package="directory",
        port=PORT,
        check_settings=lambda mode: Settings.from_env(),
        commands=COMMANDS,
    )


if __name__ == "__main__":
    sys.exit(main())
