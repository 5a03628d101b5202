"""The whole system on its embedded defaults, started as subprocesses for
end-to-end tests: the four services and the web front end, each with
`python -m <package> run` on a free loopback port, one SQLite event log and one
SQLite store per service in a temporary directory, and the file mail transport.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
from ccshared.store import connect
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]
START_SECONDS = 90.0
SETTLE_SECONDS = 60.0


@dataclass(frozen=True)
class Part:
    name: str
    package: str
    port_var: str
    url_var: str


PARTS = (
    Part("directory", "directory", "DIRECTORY_PORT", "DIRECTORY_URL"),
    Part("contacts", "contacts", "CONTACTS_PORT", "CONTACTS_URL"),
    Part("sla-monitor", "sla_monitor", "SLA_MONITOR_PORT", "SLA_MONITOR_URL"),
    Part("notifier", "notifier", "NOTIFIER_PORT", "NOTIFIER_URL"),
    Part("web", "frontend", "WEB_PORT", "WEB_URL"),
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(
    condition: Callable[[], object], deadline_seconds: float, what: str, interval: float = 0.2
) -> object:
    """Poll condition until it returns something truthy; fail naming what was awaited."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {deadline_seconds:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class RunningSystem:
    root: Path
    urls: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def web(self) -> str:
        return self.urls["web"]

    def env_for(self, part: str) -> dict[str, str]:
        store = "web" if part == "web" else part.replace("-", "_")
        return {**self.env, "STORE_URL": f"sqlite:///{self.root}/{store}.db"}

    def log_of(self, part: str, lines: int = 40) -> str:
        path = self.root / "logs" / f"{part}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def command(self, part: str, *args: str, stdin: str | None = None) -> str:
        """Run `python -m <package> args` with the part's environment; its standard output."""
        package = next(p.package for p in PARTS if p.name == part)
        done = subprocess.run(
            [sys.executable, "-m", package, *args],
            env=self.env_for(part),
            cwd=self.root,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"python -m {package} {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def create_user(self, username: str, role: str, area: str | None = None) -> str:
        """A staff account made with the documented command; returns the generated password."""
        args = ["create-user", username, "--role", role] + (["--area", area] if area else [])
        found = re.search(r"^Password: (\S+)$", self.command("web", *args), re.MULTILINE)
        assert found, "create-user printed no password"
        return found.group(1)

    def start(self) -> None:
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        ports = {part.name: free_port() for part in PARTS}
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        self.env = {
            **os.environ,
            "EVENT_BUS_URL": f"sqlite:///{self.root}/events.db",
            "STAFF_TOKEN_SECRET": "e2e-" + Fernet.generate_key().decode(),
            "CONTACTS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "NOTIFIER_TRANSPORT": "file",
            "NOTIFIER_MAIL_DIR": str(self.root / "mail"),
            "NOTIFIER_WEB_BASE_URL": self.urls["web"],
            "WEB_COOKIE_SECURE": "false",
            "WEB_CONCURRENCY": "1",
            "BIND_HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **{part.port_var: str(ports[part.name]) for part in PARTS},
            **{part.url_var: self.urls[part.name] for part in PARTS},
        }
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.command("directory", "load-sample")
        for part in PARTS:
            log = open(self.root / "logs" / f"{part.name}.log", "wb")  # noqa: SIM115 - closed with the process
            self.processes[part.name] = subprocess.Popen(
                [sys.executable, "-m", part.package, "run"],
                env=self.env_for(part.name),
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        for part in PARTS:
            wait_for(lambda p=part.name: self._ready(p), START_SECONDS, f"{part.name} /readyz")
        self._wait_until_settled()

    def _ready(self, part: str) -> bool:
        process = self.processes[part]
        if process.poll() is not None:
            raise RuntimeError(f"{part} exited with {process.returncode}:\n{self.log_of(part)}")
        try:
            return requests.get(self.urls[part] + "/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _wait_until_settled(self) -> None:
        """The sample centres have reached the services that keep a copy of them."""
        total = requests.get(
            self.urls["directory"] + "/api/v1/centres", params={"per_page": 1}, timeout=5
        ).json()["total"]
        for part in ("contacts", "sla-monitor"):
            store = connect(self.env_for(part)["STORE_URL"])
            try:
                wait_for(
                    lambda s=store: s.collection("centres").count() >= total,
                    SETTLE_SECONDS,
                    f"{part} to learn the {total} sample centres",
                )
            finally:
                store.close()

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def run_system(root: Path) -> Iterator[RunningSystem]:
    running = RunningSystem(root)
    try:
        running.start()
        yield running
    finally:
        running.stop()
