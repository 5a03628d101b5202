"""What every benchmark shares: figures and reports, percentiles, the machine, the engines."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Figure:
    """One measured figure and the same-run baseline it is compared with."""

    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    def line(self) -> str:
        text = f"{self.name}: {format_number(self.value)} {self.unit}"
        if self.baseline is not None:
            ratio = self.ratio
            shown = "n/a" if ratio is None else format_ratio(ratio)
            text += f"  ({shown} of {self.baseline_name}: {format_number(self.baseline)} {self.unit})"
        return text


@dataclass
class Report:
    """One benchmark's result: its figures, the sizes it used and notes for the reader."""

    name: str
    title: str
    sizes: dict[str, object]
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        print(f"  {figure.line()}", flush=True)


def format_number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def machine() -> dict[str, str]:
    """CPU model, cores, memory, Python version and load, for the report's header."""
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": _memory(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


class Engines:
    """The real Kafka broker and FerretDB of the test harness, started on first use, once per run."""

    def __init__(self, workdir: Path | None = None, *, kafka=None, ferretdb=None):  # noqa: ANN001
        """Engines already running (e.g. the test fixtures) may be given; they are not stopped here."""
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="cc-bench-engines-"))
        self._kafka = kafka
        self._ferretdb = ferretdb
        self._owned: list = []

    def kafka(self):  # noqa: ANN201 - tests.infra is imported lazily
        if self._kafka is None:
            from tests.infra.kafka import KafkaBroker

            print("  (starting Kafka)", flush=True)
            broker = KafkaBroker(self.workdir / "kafka")
            broker.start()
            self._kafka = broker
            self._owned.append(broker)
        return self._kafka

    def ferretdb(self):  # noqa: ANN201
        if self._ferretdb is None:
            from tests.infra.ferretdb import FerretDB

            print("  (starting FerretDB)", flush=True)
            database = FerretDB(self.workdir / "ferretdb")
            database.start()
            self._ferretdb = database
            self._owned.append(database)
        return self._ferretdb

    def close(self) -> None:
        for engine in self._owned:
            engine.stop()
        self._owned.clear()
        self._kafka = self._ferretdb = None


@dataclass
class Context:
    """What a benchmark gets: where to put files, the engines, and whether this is a quick run."""

    workdir: Path
    engines: Engines
    quick: bool


def start_process(cmd: Sequence[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """A child in its own process group, run from the repo root, logging to a file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(cmd),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def peak_rss_mib(process: subprocess.Popen) -> list[tuple[str, float]]:
    """(pid and program, peak RSS in MiB) of each live process in the child's process group
    (a gunicorn master and its workers, say), from /proc's VmHWM; empty where /proc is not."""
    found: list[tuple[str, float]] = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if os.getpgid(int(entry.name)) != process.pid:
                continue
            status = (entry / "status").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        peak = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), None)
        if peak is not None:
            found.append((f"{entry.name} {_program(argv)}", int(peak) / 1024))
    return sorted(found, key=lambda item: int(item[0].split()[0]))


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    return _cpu_seconds(lambda pid, ppid, pgrp: pgrp == pgid)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a live process and its live children."""
    return _cpu_seconds(lambda own, ppid, pgrp: pid in (own, ppid))


def _cpu_seconds(counted: Callable[[int, int, int], bool]) -> float:
    """CPU seconds of the live processes for which counted(pid, ppid, pgrp) holds, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the name: state, ppid, pgrp, ..., utime (12th), stime (13th).
        if counted(int(entry.name), int(fields[1]), int(fields[2])):
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _program(argv: list[bytes]) -> str:
    words = [word.decode(errors="replace") for word in argv if word]
    if "-m" in words[:-1]:
        return words[words.index("-m") + 1]
    return Path(words[0]).name if words else "?"


def rss_note(report: Report, label: str, process: subprocess.Popen) -> None:
    """Print and note the peak RSS of each process of a service, just before it is stopped."""
    peaks = peak_rss_mib(process)
    if not peaks:
        return
    text = f"peak RSS, {label}: " + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in peaks)
    total = sum(mib for _, mib in peaks)
    text += f" (total {total:.0f} MiB)" if len(peaks) > 1 else ""
    print(f"  {text}", flush=True)
    report.notes.append(text)


def stop_process(process: subprocess.Popen, timeout: float = 20.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def base_env(**extra: str) -> dict[str, str]:
    """The environment of a service process: this one's, minus metrics state, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(extra)
    return env
