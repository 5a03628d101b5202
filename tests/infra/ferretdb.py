"""A real FerretDB v1 (MongoDB wire protocol on SQLite or PostgreSQL) for tests.

The server is tools/ferretdb/main.go built against the module versions pinned in go.mod/go.sum,
with the small fixes in tools/ferretdb/patches.json applied to FerretDB's source (each says why);
the binary is cached per hash of those files, see ``install_ferretdb``.

FERRETDB_BACKEND=sqlite|postgresql picks the backend (SQLite unless set; docs/benchmarks.md,
"FerretDB backends", says why). With postgresql, each FerretDB gets a private PostgreSQL
cluster (tests/infra/postgresql.py) that starts before it and stops, or is killed, with it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from . import postgresql
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

BACKENDS = ("sqlite", "postgresql")
SOURCE = TOOLS_DIR / "ferretdb"
SOURCE_FILES = ("go.mod", "go.sum", "main.go", "patches.json")
MODULE = "github.com/FerretDB/FerretDB"


def default_backend() -> str:
    backend = os.environ.get("FERRETDB_BACKEND") or "sqlite"
    if backend not in BACKENDS:
        raise InfraError(f"FERRETDB_BACKEND={backend!r}; expected one of {', '.join(BACKENDS)}")
    return backend


def missing_tools(backend: str | None = None) -> list[str]:
    missing = missing_commands({"go": "install Go 1.24 or newer, see https://go.dev/doc/install"})
    if (backend or default_backend()) == "postgresql":
        missing += postgresql.missing_tools()
    return missing


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
    """Build the pinned FerretDB with the fixes in patches.json applied.

    The module comes from the Go module proxy and is checked against go.sum; a copy of
    it gets the patches and replaces the module for this build only. ``-mod=readonly``
    makes a stale go.sum fail loudly instead of being rewritten.
    """
    go = shutil.which("go")
    if go is None:
        raise InfraError("go not found on PATH")
    work = binary.parent / "build"
    _remove_tree(work)
    app = work / "app"
    app.mkdir(parents=True)
    for name in ("go.mod", "go.sum", "main.go"):
        shutil.copyfile(SOURCE / name, app / name)
    module = _download(go, app)
    source = work / "ferretdb-src"
    shutil.copytree(module, source, copy_function=shutil.copyfile)
    _make_writable(source)
    _apply_patches(source, json.loads((SOURCE / "patches.json").read_text()))
    run_checked(
        [go, "mod", "edit", f"-replace={MODULE}={source}"],
        cwd=app,
        what="pointing go.mod at the patched FerretDB",
    )
    partial = binary.with_name(binary.name + ".partial")
    run_checked(
        [go, "build", "-mod=readonly", "-trimpath", "-buildvcs=false", "-o", str(partial), "."],
        cwd=app,
        what="building FerretDB",
    )
    partial.rename(binary)
    _remove_tree(work)


def _download(go: str, app: Path) -> Path:
    """The module's directory in the Go module cache (read-only), downloaded if need be."""
    result = subprocess.run(
        [go, "mod", "download", "-json", MODULE], cwd=app, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise InfraError(f"go mod download {MODULE} failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    return Path(json.loads(result.stdout)["Dir"])


def _apply_patches(source: Path, patches: list[dict[str, str]]) -> None:
    """Replace each patch's ``old`` text, which must occur exactly once, with its ``new`` text."""
    for patch in patches:
        path = source / patch["file"]
        text = path.read_text()
        found = text.count(patch["old"])
        if found != 1:
            raise InfraError(
                f"tools/ferretdb/patches.json: expected {patch['old']!r} once in {patch['file']}, "
                f"found it {found} times; the pinned FerretDB version changed, so review the patch"
            )
        path.write_text(text.replace(patch["old"], patch["new"]))


def _make_writable(root: Path) -> None:
    for directory, _, files in os.walk(root):
        os.chmod(directory, os.stat(directory).st_mode | stat.S_IWUSR)
        for name in files:
            file = Path(directory, name)
            file.chmod(file.stat().st_mode | stat.S_IWUSR)


def _remove_tree(root: Path) -> None:
    if root.exists():
        _make_writable(root)
        shutil.rmtree(root)


class FerretDB(Engine):
    """FerretDB on 127.0.0.1: its SQLite files in ``workdir/data``, or its own PostgreSQL cluster
    under ``workdir/postgresql`` with ``backend="postgresql"`` (default: ``FERRETDB_BACKEND``).

    ``stop()`` and ``kill()`` take the PostgreSQL cluster down too, so a test that crashes "the
    database" crashes all of it, and ``start()`` brings both back on the same data.
    """

    name = "ferretdb"
    start_timeout = 30.0
    stop_timeout = 15.0

    def __init__(
        self, workdir: Path, port: int | None = None, scrub: bool = False, backend: str | None = None
    ):
        super().__init__(workdir)
        self.port = port or free_port()
        self.data_dir = self.workdir / "data"
        self.scrub = scrub  # zero deleted data, checkpoint every commit (tools/ferretdb/main.go)
        self.backend = backend or ("sqlite" if scrub else default_backend())
        if self.backend not in BACKENDS:
            raise InfraError(f"unknown FerretDB backend {self.backend!r}")
        if scrub and self.backend != "sqlite":
            raise InfraError("scrub=True is about the SQLite files; it needs backend='sqlite'")
        self.postgresql = (
            postgresql.PostgreSQL(self.workdir / "postgresql") if self.backend == "postgresql" else None
        )

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def store_url(self, database: str) -> str:
        """STORE_URL for this server through the FerretDB shim (ccshared.store.ferretdb_shim),
        which racing writers need; `url` + database is the plain adapter production runs."""
        return f"ferretdb://127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float | None = None) -> None:
        if self.postgresql is not None and not self.postgresql.running:
            self.postgresql.start()
        super().start(timeout)

    def stop(self) -> None:
        super().stop()
        if self.postgresql is not None:
            self.postgresql.stop()

    def kill(self) -> None:
        super().kill()
        if self.postgresql is not None:
            self.postgresql.kill()

    def log_tail(self, n: int = 80) -> str:
        own = super().log_tail(n)
        if self.postgresql is None:
            return own
        return f"{own}\n----- postgresql log, {self.postgresql.process.log_path}\n{self.postgresql.log_tail(n // 2)}"

    def _prepare(self) -> list[str]:
        binary = install_ferretdb()
        command = [str(binary), "-listen", f"127.0.0.1:{self.port}"]
        if self.postgresql is not None:
            return [*command, "-postgresql-url", self.postgresql.url]
        command += ["-dir", str(self.data_dir)]
        return [*command, "-scrub"] if self.scrub else command

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
