"""The whole system as separate OS processes, for end-to-end and fault tests.

Each service runs as `python -m <package> run` (gunicorn + its worker) in its
own process group, on a free loopback port, with its own log file. The same
launcher serves the embedded defaults (SQLite log and stores) and the real
engines (Kafka, FerretDB): only the URLs differ.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from ccshared.auth import StaffUser
from ccshared.store import connect as connect_store
from cryptography.fernet import Fernet

from . import tokens
from .common import free_port
from .waiting import wait_for


@dataclass(frozen=True)
class Spec:
    name: str
    package: str
    port_var: str
    url_var: str


SPECS = {
    spec.name: spec
    for spec in (
        Spec("directory", "directory", "DIRECTORY_PORT", "DIRECTORY_URL"),
        Spec("contacts", "contacts", "CONTACTS_PORT", "CONTACTS_URL"),
        Spec("sla-monitor", "sla_monitor", "SLA_MONITOR_PORT", "SLA_MONITOR_URL"),
        Spec("notifier", "notifier", "NOTIFIER_PORT", "NOTIFIER_URL"),
        Spec("web", "frontend", "WEB_PORT", "WEB_URL"),
    )
}
BACKEND = ("directory", "contacts", "sla-monitor", "notifier")


@dataclass
class System:
    workdir: Path
    bus_url: str
    store_url: Callable[[str], str]
    services: Iterable[str] = BACKEND
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.services = tuple(self.services)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in SPECS}
        self.mail_dir = self.workdir / "mail"
        # A service's scratch files (its metrics folder) stay in the test's own folder, even when the
        # test SIGKILLs it and it cannot remove them.
        scratch = self.workdir / "tmp"
        scratch.mkdir(exist_ok=True)
        self._env = {
            **os.environ,
            "EVENT_BUS_URL": self.bus_url,
            "CONTACTS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "CONTACTS_BLIND_INDEX_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "WEB_COOKIE_SECURE": "false",
            "NOTIFIER_TRANSPORT": "file",
            "NOTIFIER_MAIL_DIR": str(self.mail_dir),
            "WEB_CONCURRENCY": "1",
            "LOG_LEVEL": "INFO",
            "BIND_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            "TMPDIR": str(scratch),
            **{SPECS[n].port_var: str(p) for n, p in self.ports.items()},
            **{SPECS[n].url_var: self.url(n) for n in SPECS},
            "NOTIFIER_WEB_BASE_URL": self.url("web"),
            **self.extra_env,
        }
        self._env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self, name: str) -> dict[str, str]:
        """A service's environment, with only the token keys that service holds."""
        return {**self._env, **tokens.key_env(name), **self.extra_env, "STORE_URL": self.store_url(name)}

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def log(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def command(
        self, name: str, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess:
        """Run a one-off command of a service (e.g. directory load-sample) with its env."""
        result = subprocess.run(
            [sys.executable, "-m", SPECS[name].package, *args],
            env=self.env(name),
            cwd=self.workdir,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{name} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def start(self, *names: str, wait: bool = True) -> None:
        for name in names or self.services:
            log = self.log_path(name).open("a")
            log.write(f"\n===== start {name} at {time.strftime('%H:%M:%S')}\n")
            log.flush()
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", SPECS[name].package, "run"],
                env=self.env(name),
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            try:
                for name in names or self.services:
                    self.wait_ready(name)
            except Exception:
                self.stop()
                raise

    def wait_ready(self, name: str, deadline_s: float = 60.0) -> None:
        def ready() -> bool:
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)[-4000:]}")
            try:
                answer = requests.get(f"{self.url(name)}/readyz", timeout=2)
                # Another process may have taken the port between free_port() and the bind: only
                # this service's own answer counts (a stranger's 200 would fail the test later, obscurely).
                return answer.status_code == 200 and answer.json().get("service") == name
            except (requests.RequestException, ValueError):
                return False

        wait_for(ready, deadline_s, f"{name} /readyz")

    def settle(self, deadline_s: float = 60.0) -> None:
        """Wait until the services that keep a copy of the directory's centres know them all."""
        answer = requests.get(f"{self.url('directory')}/api/v1/centres", params={"per_page": 1}, timeout=5)
        total = answer.json()["total"]
        for name in ("contacts", "sla-monitor"):
            if name not in self.services:
                continue
            store = connect_store(self.store_url(name))
            try:
                wait_for(
                    lambda s=store: s.collection("centres").count() >= total,
                    deadline_s,
                    f"{name} to learn the sample centres",
                )
            finally:
                store.close()

    def stop(self, *names: str, sig: int = signal.SIGTERM, deadline_s: float = 20.0) -> None:
        for name in names or tuple(self.processes):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=deadline_s)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            except ProcessLookupError:
                pass

    def kill(self, *names: str) -> None:
        """SIGKILL the whole process group: no clean shutdown, as in a crash."""
        self.stop(*names, sig=signal.SIGKILL)

    def staff(
        self,
        service: str,
        role: str = "principal_officer",
        area: str | None = None,
        username: str = "test-user",
    ) -> tokens.TokenHeaders:
        """Headers as the front end sends them to `service` for this user, fresh at every use."""
        return tokens.staff_headers(StaffUser(username=username, role=role, area=area), service)

    def dump_logs(self) -> str:
        return "\n".join(f"----- {name} -----\n{self.log(name)[-3000:]}" for name in SPECS if self.log(name))
