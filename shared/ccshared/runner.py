"""Process wiring: one service = gunicorn for HTTP + a background worker.

`run` starts both (what a container and the embedded run use); `serve` and
`worker` start one each. Prometheus runs in multiprocess mode so /metrics, served
by any gunicorn worker, reports the background worker's counters too.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from . import logs, private, tracing
from .config import BIND_HOST, LOG_LEVEL, OTEL_EXPORTER_OTLP_ENDPOINT, WEB_CONCURRENCY, ConfigError, Var, load

if TYPE_CHECKING:
    from .worker import Task

log = logging.getLogger(__name__)


def _prepare_metrics_dir(mode: str) -> None:
    """Give the process group one metrics directory, before the worker makes its metrics.

    prometheus_client picks in-memory or multiprocess values when it is first imported.
    A service's entry module usually imports it (through its app) before main runs, so
    the worker's metrics would stay in memory, never reaching the /metrics that gunicorn
    serves: then this process starts itself again, once, with the directory set.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cc-metrics-")
    # The directory is this process's to remove when it ends. A pid, not a flag: an
    # exec (below, or into gunicorn for `serve`) keeps it, a child process has its own.
    os.environ[METRICS_DIR_OWNER] = str(os.getpid())
    if mode in ("run", "worker") and "prometheus_client" in sys.modules:
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


METRICS_DIR_OWNER = "CC_METRICS_DIR_OWNER"


def remove_own_metrics_dir() -> None:
    """Remove the metrics directory if this process made it (at exit; also gunicorn's on_exit)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and os.environ.get(METRICS_DIR_OWNER) == str(os.getpid()):
        shutil.rmtree(directory, ignore_errors=True)


def _load(spec: str) -> Callable:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def gunicorn_command(
    app_spec: str, host: str, port: int, workers: int, threads: int = 4, name: str = "gunicorn"
) -> list[str]:
    """`name` is the service its own log lines name (ccshared.gunicorn_conf.JsonLogger)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--name",
        name,
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--graceful-timeout",
        "10",
        "--no-control-socket",
        "--config",
        "python:ccshared.gunicorn_conf",
        app_spec,
    ]


def run_tasks(tasks: Sequence[Task], stop: threading.Event) -> int:
    """Run each task in a thread until stop is set; if any task dies, stop all and fail."""
    failed = threading.Event()

    def guard(task: Task) -> None:
        try:
            task(stop)
        except Exception:  # noqa: BLE001 - a dead worker thread must bring the process down
            log.exception("worker task died", extra={"task": getattr(task, "__name__", str(task))})
            failed.set()
            stop.set()

    threads = [threading.Thread(target=guard, args=(task,), daemon=True) for task in tasks]
    for thread in threads:
        thread.start()
    while not stop.is_set():
        stop.wait(0.5)
    for thread in threads:
        thread.join(timeout=15)
    return 1 if failed.is_set() else 0


def _stop_on_signals(stop: threading.Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())


MODES = {
    "run": "the HTTP API (gunicorn) and the worker tasks together (the default)",
    "serve": "the HTTP API only, to scale it apart from the worker",
    "worker": "the worker tasks only: consumers, outbox relay, timers",
}


def usage(package: str, port: Var, commands: Mapping[str, str]) -> str:
    lines = [f"usage: python -m {package} {'|'.join([*MODES, *commands])} [...]", ""]
    width = max(len(name) for name in (*MODES, *commands))
    lines += [f"  {name:{width}}  {text}" for name, text in {**MODES, **commands}.items()]
    lines += ["", f"The API listens on {port.name} (default {port.default}); README.md lists every setting."]
    return "\n".join(lines)


def main(
    argv: Sequence[str],
    *,
    package: str,
    port: Var,
    check_settings: Callable[[str], object] | None = None,
    commands: Mapping[str, str] | None = None,
) -> int:
    """Entry for `python -m <package> run|serve|worker`.

    Every service is laid out alike: gunicorn runs `<package>.app:from_env()` and
    the worker runs the tasks of `<package>.worker:tasks`.

    `commands` names the service's own further commands (handled before this is
    called) so that `--help` lists them too.

    `check_settings(mode)` loads the settings that mode needs before anything
    starts: a bad one (a malformed closure calendar, say) stops the service
    with one message naming it, not a traceback from a worker thread.
    """
    app_spec, worker_spec = f"{package}.app:from_env()", f"{package}.worker:tasks"
    mode = argv[0] if argv else "run"
    if mode in ("-h", "--help", "help"):
        print(usage(package, port, commands or {}))
        return 0
    if mode not in MODES:
        print(f"unknown mode {mode!r}: use run, serve or worker", file=sys.stderr)
        return 2
    private.restrict_new_files()
    problems: list[str] = []
    if check_settings is not None:
        try:
            check_settings(mode)
        except ConfigError as exc:
            problems += exc.problems
    try:
        # The endpoint is read again by every process that traces; the rest are this one's.
        process = load([OTEL_EXPORTER_OTLP_ENDPOINT, port, BIND_HOST, WEB_CONCURRENCY, LOG_LEVEL])
    except ConfigError as exc:
        problems += exc.problems
    if problems:  # every bad variable at once, the service's and the runner's own
        # A variable both read (LOG_LEVEL) would otherwise be named twice.
        print(ConfigError(list(dict.fromkeys(problems))), file=sys.stderr)
        return 2
    logs.configure(service_name(port), process[LOG_LEVEL.name])  # gunicorn's app configures its own
    _prepare_metrics_dir(mode)
    http = gunicorn_command(
        app_spec,
        process[BIND_HOST.name],
        process[port.name],
        process[WEB_CONCURRENCY.name],
        name=service_name(port),
    )
    if mode == "serve":
        os.execv(sys.executable, http)
    stop = threading.Event()
    _stop_on_signals(stop)
    gunicorn = None
    if mode == "run":
        gunicorn = subprocess.Popen(http)
        threading.Thread(target=_watch, args=(gunicorn, stop), daemon=True).start()
    tracing.configure(service_name(port))
    build_tasks = _load(worker_spec)
    try:
        status = run_tasks(build_tasks(), stop)
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            gunicorn.terminate()
            try:
                gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
                gunicorn.wait()
        remove_own_metrics_dir()
    if gunicorn is not None and gunicorn.returncode not in (0, -signal.SIGTERM, None):
        return 1
    return status


def service_name(port: Var) -> str:
    """The service a port variable belongs to: SLA_MONITOR_PORT -> sla-monitor."""
    return port.name.removesuffix("_PORT").lower().replace("_", "-")


def _watch(process: subprocess.Popen, stop: threading.Event) -> None:
    process.wait()
    if not stop.is_set():
        log.error("gunicorn exited; stopping the service", extra={"returncode": process.returncode})
        stop.set()
