"""A throwaway PostgreSQL cluster (Debian's `postgresql` package) for FerretDB's postgresql handler.

scripts/test-deps.sh installs the package; its service is not used. Each engine runs its own
cluster: ``initdb`` into a fresh directory, then ``postgres`` listening only on a Unix socket in
that directory (no TCP port to collide with). PostgreSQL refuses to run as root, so under root
the cluster belongs to the package's ``postgres`` account and lives in a directory of its own
under the system temp dir (pytest's temp dirs are private to root); it is removed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .common import Engine, InfraError, free_port, run_checked

ACCOUNT = "postgres"  # created by Debian's postgresql-common
DATABASE = "postgres"  # FerretDB keeps each MongoDB database as a schema in this one
# Durability as PostgreSQL ships it (fsync and synchronous_commit on), like the SQLite backend's
# WAL with synchronous=FULL, so the two backends are compared on equal terms.
SETTINGS = {
    "listen_addresses": "",
    "max_connections": "120",  # FerretDB's pool opens up to 50
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "log_checkpoints": "off",
}


def bin_dir() -> Path | None:
    """Debian keeps the server programs in /usr/lib/postgresql/<major>/bin, off PATH; the newest wins."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).resolve().parent if on_path else None


def missing_tools() -> list[str]:
    if bin_dir() is None:
        return ["initdb/postgres: install Debian's postgresql (scripts/test-deps.sh does)"]
    if os.geteuid() == 0 and not _account_exists():
        return [f"the {ACCOUNT!r} account: install Debian's postgresql, which creates it"]
    return []


def _account_exists() -> bool:
    import pwd

    try:
        pwd.getpwnam(ACCOUNT)
    except KeyError:
        return False
    return True


class PostgreSQL(Engine):
    """A private PostgreSQL cluster reachable through the Unix socket in ``socket_dir``."""

    name = "postgresql"
    start_timeout = 60.0
    stop_timeout = 30.0
    stop_signal = signal.SIGINT  # "fast" shutdown; SIGTERM would wait for clients to leave

    def __init__(self, workdir: Path, port: int | None = None):
        super().__init__(workdir)
        # Only names the socket file (.s.PGSQL.<port>); nothing listens on TCP.
        self.port = port or free_port()
        if os.geteuid() == 0:
            self.user = ACCOUNT
            self.home = Path(tempfile.mkdtemp(prefix="cc-postgresql-"))
            shutil.chown(self.home, ACCOUNT, ACCOUNT)
            atexit.register(shutil.rmtree, self.home, True)
            with contextlib.suppress(OSError):
                (self.workdir / "cluster").symlink_to(self.home)
        else:
            self.home = self.workdir
        self.data_dir = self.home / "data"
        self.socket_dir = self.home

    @property
    def url(self) -> str:
        """A libpq/pgx URL over the Unix socket."""
        return f"postgres://{ACCOUNT}@/{DATABASE}?host={self.socket_dir}&port={self.port}&sslmode=disable"

    def _program(self, name: str) -> str:
        directory = bin_dir()
        if directory is None:
            raise InfraError("PostgreSQL's programs not found; install Debian's postgresql")
        return str(directory / name)

    def _as_account(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", ACCOUNT, "--", *cmd] if self.user else cmd

    def _prepare(self) -> list[str]:
        if not (self.data_dir / "PG_VERSION").exists():
            run_checked(
                self._as_account(
                    [
                        self._program("initdb"),
                        "--pgdata",
                        str(self.data_dir),
                        "--username",
                        ACCOUNT,
                        "--auth",
                        "trust",
                        "--encoding",
                        "UTF8",
                        "--locale",
                        "C",
                        "--no-sync",
                    ]
                ),
                cwd=self.home,
                what="initdb",
            )
        settings = {**SETTINGS, "port": str(self.port), "unix_socket_directories": str(self.socket_dir)}
        return [
            self._program("postgres"),
            "-D",
            str(self.data_dir),
            *[arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")],
        ]

    def _ready(self) -> bool:
        result = subprocess.run(
            [
                self._program("pg_isready"),
                "-q",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-d",
                DATABASE,
            ],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0
