"""Process, cache and port plumbing shared by the Kafka and FerretDB harnesses."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

DEFAULT_CACHE = Path.home() / ".cache" / "childrens-centres-infra"
REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / "tools"


class InfraError(RuntimeError):
    """An engine could not be installed, started or stopped."""


def cache_dir() -> Path:
    path = Path(os.environ.get("CC_INFRA_CACHE") or DEFAULT_CACHE).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_hash(*files: Path, length: int = 16) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:length]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock so concurrent test runs install into the cache one at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def missing_commands(hints: dict[str, str]) -> list[str]:
    """Return "<command>: <hint>" for each command in ``hints`` that is not on PATH."""
    return [f"{cmd}: {hint}" for cmd, hint in hints.items() if shutil.which(cmd) is None]


def run_checked(cmd: Sequence[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        list(cmd), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-60:])
        raise InfraError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n{tail}")


def run_script() -> ModuleType:
    """scripts/run.py (the embedded run, `make run`) as a module, to test its parts."""
    spec = importlib.util.spec_from_file_location("run_script", REPO_ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def go_install(package: str, version: str, binary: str, cache_name: str, tags: str = "") -> Path:
    """A Go command built once with `go install PACKAGE@VERSION` (module proxy, checksum database)
    and cached under `cache_name`; later calls, from any process, find it built."""
    home = cache_dir() / cache_name
    built = home / binary
    if built.exists():
        return built
    with file_lock(home / ".lock"):
        if built.exists():
            return built
        go = shutil.which("go")
        if go is None:
            raise InfraError("go not found on PATH")
        staging = home / "partial"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        run_checked(
            [go, "install", *(["-tags", tags] if tags else []), f"{package}@{version}"],
            cwd=home,
            what=f"building {binary} {version}",
            env={**os.environ, "GOBIN": str(staging), "GOFLAGS": "-trimpath -buildvcs=false"},
        )
        (staging / binary).rename(built)
        shutil.rmtree(staging)
    return built


def tail_lines(path: Path, n: int) -> str:
    """Last ``n`` lines of ``path``; reads only the end so multi-megabyte broker logs stay cheap."""
    if not path.exists():
        return f"(no log at {path})"
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 256 * n))
        data = handle.read()
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-n:])


_live: set[subprocess.Popen[bytes]] = set()


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL the child if pytest dies without running atexit hooks.

    The signal follows the *thread* that spawned the child, so start engines from the main thread.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_live):
        _signal_group(proc, signal.SIGKILL)
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)
    _live.clear()


class ManagedProcess:
    """A child in its own process group, logging stdout+stderr to one file, killed at exit."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def spawn(self, cmd: Sequence[str], cwd: Path, user: str | None = None) -> None:
        """Start ``cmd``; ``user`` runs it as that account (PostgreSQL refuses to run as root)."""
        if self.running:
            raise InfraError(f"{self.name} is already running")
        self._starts += 1
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== {self.name} start #{self._starts}: {' '.join(cmd)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                user=user,
            )
        _live.add(self._proc)

    def stop(self, timeout: float, sig: signal.Signals = signal.SIGTERM) -> None:
        """Signal the group (SIGTERM unless told), escalating to SIGKILL if it outlives ``timeout`` seconds."""
        if self._proc is None:
            return
        _signal_group(self._proc, sig)
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._forget()

    def kill(self) -> None:
        if self._proc is None:
            return
        _signal_group(self._proc, signal.SIGKILL)
        self._proc.wait(timeout=30)
        self._forget()

    def _forget(self) -> None:
        if self._proc is not None:
            _live.discard(self._proc)
            self._proc = None

    def tail(self, n: int) -> str:
        return tail_lines(self.log_path, n)


class Engine:
    """Start/stop/kill lifecycle shared by the engines; subclasses supply install, command and probe.

    The port(s) and ``workdir`` are fixed at construction, so ``start()`` after ``stop()`` or
    ``kill()`` brings the engine back on the same address with the same data.
    """

    name = "engine"
    start_timeout = 90.0
    stop_timeout = 30.0
    stop_signal = signal.SIGTERM
    log_tail_lines = 80
    user: str | None = None  # the account to run as, when not this process's

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(self.name, self.workdir / f"{self.name}.log")

    @property
    def running(self) -> bool:
        return self.process.running

    def start(self, timeout: float | None = None) -> None:
        """Install if needed, launch, and block until the engine answers its client protocol."""
        timeout = timeout or self.start_timeout
        self.process.spawn(self._prepare(), cwd=self.workdir, user=self.user)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if not self.process.running:
                code = self.process.returncode
                self.process.kill()
                raise self._failure(f"exited with status {code} during startup")
            if time.monotonic() >= deadline:
                self.process.kill()
                raise self._failure(f"not ready after {timeout:.0f}s")
            time.sleep(0.25)

    def stop(self) -> None:
        self.process.stop(self.stop_timeout, self.stop_signal)

    def kill(self) -> None:
        """SIGKILL without any shutdown, to simulate a crash."""
        self.process.kill()

    def log_tail(self, n: int = 80) -> str:
        return self.process.tail(n)

    def _failure(self, what: str) -> InfraError:
        return InfraError(
            f"{self.name} {what}; log {self.process.log_path}, last lines:\n"
            f"{self.log_tail(self.log_tail_lines)}"
        )

    def _prepare(self) -> list[str]:
        """Install binaries, write config and return the command line."""
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError
