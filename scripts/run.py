"""The run command: the whole system on the embedded defaults, with sample data.

Needs Python alone: SQLite for the event log and every service's store, and a
file mail transport whose messages staff read in the front end. Secrets are
generated on first run into var/secrets.env (git-ignored), never kept in the repo,
and so are the token key pairs (var/*-token.pem, private, and *-token.pub.pem).
Every variable the run sets is kept in var/run.env, for the commands run by hand
(`set -a; . var/run.env; set +a`); each service is given only those its config.py
declares, from var/env/<service>.env (the Procfile loads it), so a private key
reaches only the process that signs with it.
"""

from __future__ import annotations

import importlib
import os
import secrets
import shlex
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ccshared import config, private
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
SECRETS = VAR / "secrets.env"
RUN_ENV = VAR / "run.env"
SERVICE_ENVS = VAR / "env"  # <Procfile entry>.env: the run's settings that service reads
CREDENTIALS = VAR / "first-run-credentials.txt"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
# Where the demo agency is told of its referrals (a demo address: mail goes to var/mail).
DEMO_AGENCY_EMAIL = "demo.health.visitors@example.org"
PORTS = {"web": 8000, "directory": 8001, "contacts": 8002, "sla-monitor": 8003, "notifier": 8004}
# The package each Procfile entry runs.
PACKAGES = {
    "web": "frontend",
    "directory": "directory",
    "contacts": "contacts",
    "sla-monitor": "sla_monitor",
    "notifier": "notifier",
}
DEMO_USERS = [
    ("admin", "admin", None),
    ("principal", "principal_officer", None),
    ("coordinator-north", "coordinator", "north"),
    ("coordinator-central", "coordinator", "central"),
    ("coordinator-south", "coordinator", "south"),
    ("staff-north", "staff", "north"),
]


def read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def ensure_secrets(path: Path = SECRETS) -> dict[str, str]:
    values = read_env(path)
    wanted = {
        "CONTACTS_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
        "CONTACTS_BLIND_INDEX_KEY": lambda: secrets.token_urlsafe(32),
        "WEB_SECRET_KEY": lambda: secrets.token_urlsafe(32),
    }
    missing = {name: make() for name, make in wanted.items() if name not in values}
    if missing:
        values.update(missing)
        private.replace(path, "".join(f"{k}={v}\n" for k, v in values.items()).encode())
    return values


def _write_private(path: Path, data: bytes) -> None:
    """Create the file readable by its owner alone from the start, never chmod-ed afterwards."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def ensure_token_keys(var: Path = VAR) -> dict[str, str]:
    """The Ed25519 key pairs of staff tokens (the front end signs) and service tokens
    (the notifier signs), made on first run; the settings name their files."""
    settings = {}
    for kind in ("staff", "service"):
        private, public = var / f"{kind}-token.pem", var / f"{kind}-token.pub.pem"
        if not (private.exists() and public.exists()):
            private.unlink(missing_ok=True)
            public.unlink(missing_ok=True)
            key = Ed25519PrivateKey.generate()
            _write_private(
                private,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
            _write_private(
                public,
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            )
        settings[f"{kind.upper()}_TOKEN_PRIVATE_KEY"] = str(private)
        settings[f"{kind.upper()}_TOKEN_PUBLIC_KEY"] = str(public)
    return settings


def read_by(package: str, settings: Mapping[str, str]) -> dict[str, str]:
    """Those of the run's settings that the package's config.py declares: the staff tokens'
    private key for the front end alone, the service tokens' for the notifier alone."""
    declared = config.declared(importlib.import_module(f"{package}.config"))
    return {name: value for name, value in settings.items() if name in declared}


def without(environ: Mapping[str, str], settings: Mapping[str, str]) -> dict[str, str]:
    """The environment with none of the run's settings: a process gets those it reads apart."""
    return {name: value for name, value in environ.items() if name not in settings}


def run(args: list[str], settings: Mapping[str, str]) -> str:
    """`python -m <package> ...`, given of the run's settings those the package reads."""
    env = {**without(os.environ, settings), **read_by(args[0], settings)}
    result = subprocess.run([PYTHON, "-m", *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`python -m {' '.join(args)}` failed:\n{result.stderr}")
    return result.stdout.strip()


def first_run(settings: Mapping[str, str]) -> None:
    """Create the demo users, a partner key and a partner user once; keep their one-time secrets."""
    lines = ["Sign in to the staff pages with one of these (generated on first run):"]
    for username, role, area in DEMO_USERS:
        command = ["frontend", "create-user", username, "--role", role] + (["--area", area] if area else [])
        lines.append(
            f"  {username:22} ({role}{', ' + area if area else ''}): {run(command, settings).splitlines()[-1]}"
        )
    issued = run(
        [
            "contacts",
            "agency-key",
            "create",
            "--agency",
            "Demo Health Visitors",
            "--notify-email",
            DEMO_AGENCY_EMAIL,
        ],
        settings,
    )
    key = next(line.split(":", 1)[1].strip() for line in issued.splitlines() if line.startswith("API key:"))
    lines.append(f"Partner agency API key (X-API-Key), Demo Health Visitors: {key}")
    agency = next(
        line.rsplit("(", 1)[1].rstrip(")") for line in issued.splitlines() if line.startswith("agency:")
    )
    made = run(["frontend", "create-user", "partner-demo", "--role", "partner", "--agency", agency], settings)
    lines.append(f"Partner pages (/partners/), Demo Health Visitors: partner-demo: {made.splitlines()[-1]}")
    private.write_new(CREDENTIALS, ("\n".join(lines) + "\n").encode())


def prepare_var(var: Path = VAR) -> None:
    """var/ and all in it for this user alone: the umask covers what every service
    (started from here, so inheriting it) creates there."""
    private.restrict_new_files()
    private.make_dir(var)
    var.chmod(private.DIR_MODE)  # a var/ from an older run may have been made world-readable


def service_urls(ports: dict[str, int], env: dict[str, str]) -> dict[str, str]:
    """Where the services reach each other, from the ports they listen on (a
    <SERVICE>_PORT override moves the callers too), unless set explicitly."""
    derived = {
        f"{name.upper().replace('-', '_')}_URL": f"http://127.0.0.1:{ports[name]}"
        for name in ("directory", "contacts", "sla-monitor", "notifier")
    }
    derived["NOTIFIER_WEB_BASE_URL"] = f"http://localhost:{ports['web']}"
    return {name: env.get(name) or url for name, url in derived.items()}


def listening_ports(environ: Mapping[str, str]) -> dict[str, int]:
    return {
        name: int(environ.get(f"{name.upper().replace('-', '_')}_PORT", port)) for name, port in PORTS.items()
    }


def run_settings(environ: Mapping[str, str], var: Path = VAR) -> dict[str, str]:
    """Every variable the run sets for the services: the secrets, the key files,
    and where the services reach each other on the ports they listen on."""
    settings = {
        **ensure_secrets(var / SECRETS.name),
        **ensure_token_keys(var),
        "WEB_COOKIE_SECURE": environ.get("WEB_COOKIE_SECURE", "false"),
    }
    combined = {**environ, **settings}
    return {**settings, **service_urls(listening_ports(combined), combined)}


def _write_env(path: Path, header: list[str], settings: Mapping[str, str]) -> None:
    """A file of NAME=value lines for `set -a; . FILE`, private like the secrets it holds."""
    lines = [*header, *(f"{name}={shlex.quote(value)}" for name, value in settings.items())]
    private.replace(path, ("\n".join(lines) + "\n").encode())


def write_run_env(settings: Mapping[str, str], path: Path = RUN_ENV) -> None:
    """The run's settings for commands run by hand: all of them, as a command may need any."""
    header = [
        "# Written by `make run`: the settings its services run with. In a shell, before a",
        "# command of README's 'Everyday commands': set -a; . var/run.env; set +a",
    ]
    _write_env(path, header, settings)


def write_service_envs(settings: Mapping[str, str], folder: Path = SERVICE_ENVS) -> None:
    """Each Procfile entry's <entry>.env, which its line loads: the settings its package reads."""
    private.make_dir(folder)
    for entry, package in PACKAGES.items():
        header = [f"# Written by `make run`: what {entry} reads of var/run.env; the Procfile loads it."]
        _write_env(folder / f"{entry}.env", header, read_by(package, settings))


def main() -> int:
    prepare_var()
    settings = run_settings(os.environ)
    write_run_env(settings)
    write_service_envs(settings)
    ports = listening_ports(os.environ)
    run(["directory", "load-sample"], settings)
    run(["contacts", "subject-access", "backfill"], settings)  # contacts stored before blind indexes
    if not CREDENTIALS.exists():
        first_run(settings)
    print(CREDENTIALS.read_text())
    print("Children's Centres system, embedded defaults (SQLite event log and stores, mail to var/mail):")
    print(f"  Find a centre and staff pages  http://localhost:{ports['web']}/")
    for name in ("directory", "contacts", "sla-monitor", "notifier"):
        print(
            f"  {name:12} API  http://localhost:{ports[name]}/openapi.json   health /healthz  metrics /metrics"
        )
    print("Press Ctrl-C to stop everything.\n", flush=True)
    honcho = [str(ROOT / ".venv" / "bin" / "honcho"), "start", "-f", "Procfile"]
    return supervise(honcho, without(os.environ, settings))


def supervise(command: list[str], env: dict[str, str]) -> int:
    """Run honcho until it ends; Ctrl-C (or SIGTERM) is the normal way to stop, not a failure.

    The terminal sends SIGINT to the whole foreground group: honcho stops the services
    itself. This process only waits for it to finish, then says the stop was clean, so
    `make run` ends without "Error 130".
    """
    asked_to_stop = []

    def note(signum: int, _frame: object) -> None:
        asked_to_stop.append(signum)
        if signum == signal.SIGTERM:  # sent to this process alone: pass it on
            process.send_signal(signal.SIGTERM)

    process = subprocess.Popen(command, env=env, cwd=ROOT)
    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if asked_to_stop:
        print("Stopped.", flush=True)
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
