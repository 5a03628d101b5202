"""Starting and stopping leaves nothing behind and reports a normal stop as one.

Each service keeps its Prometheus values in a temporary folder shared by its
processes; a stopped service removes the folder it made (it used to leave one
behind in /tmp at every start). `make run` stops on Ctrl-C: that is how people
end it, so it must end cleanly, not with make's "Error 130".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import requests

from tests.infra import common
from tests.infra.system import System
from tests.infra.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _metrics_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("cc-metrics-*"))


@pytest.mark.parametrize("mode", ["run", "serve"])
def test_a_stopped_service_removes_its_metrics_folder(tmp_path, mode):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    system = _on_sqlite(tmp_path, "directory", tmp)
    log = system.log_path("directory").open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "directory", mode],
        env=system.env("directory"),
        cwd=system.workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    system.processes["directory"] = process
    try:
        system.wait_ready("directory")
        assert requests.get(f"{system.url('directory')}/metrics", timeout=5).status_code == 200
        assert len(_metrics_dirs(tmp)) == 1, "one metrics folder per service, shared by its processes"
    finally:
        system.stop()
    assert process.returncode == 0, system.log("directory")[-3000:]
    assert _metrics_dirs(tmp) == [], system.log("directory")[-3000:]


@pytest.fixture
def run_script() -> ModuleType:
    return common.run_script()


# Stands in for honcho: on SIGINT it stops and exits 130, as honcho does.
SUPERVISED = """
import signal, sys, time
signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
print("ready", flush=True)
while True:
    time.sleep(0.1)
"""

# The run script's supervise(), in a process of its own, like `make run`'s.
SUPERVISOR = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("run_script", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.exit(module.supervise([sys.executable, "-c", sys.argv[2]], {}))
"""


def _start_supervisor(tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(ROOT / "scripts" / "run.py"), SUPERVISED],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_ctrl_c_stops_the_embedded_run_with_success(tmp_path):
    supervisor = _start_supervisor(tmp_path)
    try:
        assert supervisor.stdout.readline().strip() == "ready"
        os.killpg(supervisor.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        assert supervisor.wait(timeout=20) == 0
        assert "Stopped." in supervisor.stdout.read()
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)


def test_the_embedded_run_still_fails_when_the_services_fail(tmp_path, run_script):
    assert run_script.supervise([sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ)) == 3


def test_sigterm_to_the_run_command_stops_the_services_too(tmp_path):
    supervisor = _start_supervisor(tmp_path)
    try:
        assert supervisor.stdout.readline().strip() == "ready"
        supervisor.send_signal(signal.SIGTERM)  # to the run command alone, as a process manager does
        assert supervisor.wait(timeout=20) == 0

        def group_gone() -> bool:
            try:
                os.killpg(supervisor.pid, 0)
            except ProcessLookupError:
                return True
            return False

        wait_for(group_gone, 20, "the supervised process to stop with the run command")
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)


# Exits 0 on SIGTERM, as every service's `python -m <service> run` does.
STOPS_CLEANLY = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("ready", flush=True)
while True:
    time.sleep(0.1)
"""


def test_honcho_reports_each_service_of_the_procfile_stopped_with_success(tmp_path):
    """honcho runs each Procfile line through /bin/sh; without `exec` the shell, not the
    service, takes honcho's SIGTERM and every Ctrl-C ended in "stopped (rc=-15)" lines."""
    script = tmp_path / "service.py"
    script.write_text(STOPS_CLEANLY)
    entries = [line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    (tmp_path / "var" / "env").mkdir(parents=True)
    for name, _command in entries:
        (tmp_path / "var" / "env" / f"{name}.env").write_text("")  # what `make run` writes for each
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "".join(
            f"{name}: {command.split('.venv/bin/python')[0].strip()} {sys.executable} {script}\n"
            for name, command in entries
        )
    )
    honcho = subprocess.Popen(
        [str(Path(sys.executable).parent / "honcho"), "start", "-f", str(procfile)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        seen = []
        while len(seen) < len(entries):
            line = honcho.stdout.readline()
            assert line, "honcho ended before every process was ready"
            if line.rstrip().endswith("ready"):
                seen.append(line)
        os.killpg(honcho.pid, signal.SIGINT)
        honcho.wait(timeout=20)
        stopped = [line for line in honcho.stdout.read().splitlines() if "stopped (rc=" in line]
        assert len(stopped) == len(entries)
        assert all(line.endswith("stopped (rc=0)") for line in stopped), stopped
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        (
            "DIRECTORY_PORT",
            "eighty",
            "DIRECTORY_PORT='eighty' is invalid: must be a whole number from 1 to 65535",
        ),
        ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY='0' is invalid: must be a positive whole number"),
        (
            "DIRECTORY_PORT",
            "70000",
            "DIRECTORY_PORT='70000' is invalid: must be a whole number from 1 to 65535",
        ),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' is invalid: expected one of DEBUG, INFO"),
        ("STORE_URL", "sqlite:var/x.db", "STORE_URL='sqlite:var/x.db' is invalid: expected sqlite:///"),
        ("EVENT_BUS_URL", "kafka://", "EVENT_BUS_URL='kafka://' is invalid: names no broker host"),
    ],
)
def test_a_malformed_runner_or_store_setting_stops_the_service_naming_it(tmp_path, variable, value, says):
    """The runner's own variables go through the same loader as every setting: no traceback."""
    stderr = _refused(
        ["directory", "serve"], tmp_path, {**os.environ, "TMPDIR": str(tmp_path), variable: value}
    )
    assert says in stderr
    assert not _metrics_dirs(tmp_path)


def _on_sqlite(tmp_path: Path, service: str, tmp: Path) -> System:
    """One service's process set up on SQLite files under tmp_path, its TMPDIR `tmp`."""
    return System(
        tmp_path / "system",
        f"sqlite:///{tmp_path}/events.db",
        lambda name: f"sqlite:///{tmp_path}/{name}.db",
        services=(service,),
        extra_env={"TMPDIR": str(tmp)},
    )


def _refused(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """`python -m ARGS` refused to start: exit 2 and no traceback; what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {"CONTACTS_RETENTION_DAYS": "x"},
            "CONTACTS_RETENTION_DAYS='x' is invalid: must be a positive whole number",
        ),
        ({"STAFF_TOKEN_PUBLIC_KEY": ""}, "STAFF_TOKEN_PUBLIC_KEY is required"),
    ],
)
def test_a_bad_contacts_setting_stops_it_before_anything_starts(tmp_path, change, says):
    """contacts checks its own settings with the runner's, as every service does: one message,
    not a traceback from the worker after gunicorn has started."""
    system = _on_sqlite(tmp_path, "contacts", tmp_path)
    stderr = _refused(["contacts", "run"], system.workdir, {**system.env("contacts"), **change})
    assert stderr.count("\n") == 1 and says in stderr, stderr
    assert not _metrics_dirs(tmp_path)


@pytest.mark.parametrize("package", ["directory", "contacts", "sla_monitor", "notifier", "frontend"])
def test_a_variable_the_service_and_the_runner_both_read_is_named_once(tmp_path, package):
    stderr = _refused(
        [package, "serve"], tmp_path, {**os.environ, "TMPDIR": str(tmp_path), "LOG_LEVEL": "LOUD"}
    )
    assert stderr.count("LOG_LEVEL='LOUD' is invalid") == 1, stderr
