"""A real FerretDB v1 (MongoDB wire protocol on SQLite) for tests.

The server is tools/ferretdb/main.go built against the module versions pinned in go.mod/go.sum;
the binary is cached per hash of those files, see ``install_ferretdb``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .common import (
    TOOLS_DIR,
    Engine,
    InfraError,
    cache_dir,
    content_hash,
    file_lock,
    free_port,
    missing_commands,
    port_open,
    run_checked,
)

SOURCE = TOOLS_DIR / "ferretdb"
SOURCE_FILES = ("go.mod", "go.sum", "main.go")


def missing_tools() -> list[str]:
    return missing_commands({"go": "install Go 1.24 or newer, see https://go.dev/doc/install"})


def install_ferretdb() -> Path:
    """Return the cached FerretDB binary, building it with ``go build`` on first use."""
    sources = [SOURCE / name for name in SOURCE_FILES]
    absent = [str(path) for path in sources if not path.exists()]
    if absent:
        raise InfraError(f"missing {', '.join(absent)}; run `go mod tidy` in {SOURCE}")
    home = cache_dir() / f"ferretdb-{content_hash(*sources)}"
    binary = home / "ferretdb"
    if binary.exists():
        return binary
    with file_lock(home / ".lock"):
        if not binary.exists():
            _build(binary)
    return binary


def _build(binary: Path) -> None:
    """Build with ``-mod=readonly`` so a stale go.sum fails loudly instead of being rewritten."""
    partial = binary.with_name(binary.name + ".partial")
    go = shutil.which("go")
    if go is None:
        raise InfraError("go not found on PATH")
    run_checked(
        [go, "build", "-mod=readonly", "-trimpath", "-buildvcs=false", "-o", str(partial), "."],
        cwd=SOURCE,
        what="building FerretDB",
    )
    partial.rename(binary)


class FerretDB(Engine):
    """FerretDB on 127.0.0.1 with its SQLite files in ``workdir/data``."""

    name = "ferretdb"
    start_timeout = 30.0
    stop_timeout = 15.0

    def __init__(self, workdir: Path, port: int | None = None):
        super().__init__(workdir)
        self.port = port or free_port()
        self.data_dir = self.workdir / "data"

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def _prepare(self) -> list[str]:
        binary = install_ferretdb()
        return [str(binary), "-listen", f"127.0.0.1:{self.port}", "-dir", str(self.data_dir)]

    def _ready(self) -> bool:
        if not port_open(self.port):
            return False
        from pymongo import MongoClient
        from pymongo.errors import PyMongoError

        client: MongoClient[dict[str, object]] = MongoClient(
            self.url, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()
