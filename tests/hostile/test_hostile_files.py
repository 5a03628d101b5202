"""The embedded run's files are its user's alone: var/ is 0700 and every store,
mail and secret file in it 0600 from the moment it exists, whatever the umask of
whoever starts it; secrets are never written through a file planted in their place,
and each service is given only the secrets and keys it reads."""

from __future__ import annotations

import importlib
import json
import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType

import pytest
from ccshared import store as stores
from notifier.file_transport import FileTransport

from tests.infra import common

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The usual login umask (files 0644, folders 0755), put back afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def run_script() -> ModuleType:
    return common.run_script()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _in_shell(script: str, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`sh -c SCRIPT`, as a shell typing README's commands, or honcho a Procfile line, runs it."""
    return subprocess.run(
        ["sh", "-c", script, "sh", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _open_to_others(top: Path) -> dict[str, str]:
    found = {}
    for path in (top, *top.rglob("*")):
        wanted = 0o700 if path.is_dir() else 0o600
        if _mode(path) != wanted:
            found[str(path.relative_to(top.parent))] = oct(_mode(path))
    return found


def test_the_run_command_makes_var_and_its_secrets_private(tmp_path, permissive_umask, run_script):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)  # left world-readable by an older version

    run_script.prepare_var(var)
    secrets = run_script.ensure_secrets(var / "secrets.env")
    store = stores.connect(f"sqlite:///{var}/web.db")
    store.collection("sessions").insert({"_id": "x"})
    FileTransport(var / "mail").deliver(EmailMessage(), "someone@example.org", "key-1")

    assert set(secrets) >= {"CONTACTS_ENCRYPTION_KEY", "WEB_SECRET_KEY"}
    assert (var / "web.db-wal").exists()
    assert _open_to_others(var) == {}


def test_a_command_run_alone_creates_a_private_var_and_store(tmp_path, permissive_umask):
    var = tmp_path / "fresh" / "var"
    env = {**os.environ, "STORE_URL": f"sqlite:///{var}/web.db"}

    made = subprocess.run(
        [sys.executable, "-m", "frontend", "create-user", "a.admin", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert made.returncode == 0, made.stderr
    assert (var / "web.db").exists()
    assert _open_to_others(var) == {}


def test_mail_files_are_private_without_the_run_commands_umask(tmp_path, permissive_umask):
    mail = tmp_path / "var" / "mail"

    FileTransport(mail).deliver(EmailMessage(), "someone@example.org", "key-1")

    assert _mode(mail) == 0o700
    assert _mode(mail / "key-1.eml") == 0o600


def test_secrets_are_never_written_through_a_file_planted_in_their_place(tmp_path, run_script):
    var = tmp_path / "var"
    var.mkdir()
    elsewhere = tmp_path / "readable-by-all.txt"
    elsewhere.write_text("")
    (var / "secrets.env").symlink_to(elsewhere)

    run_script.ensure_secrets(var / "secrets.env")

    assert elsewhere.read_text() == ""
    assert not (var / "secrets.env").is_symlink()
    assert "WEB_SECRET_KEY=" in (var / "secrets.env").read_text()
    assert _mode(var / "secrets.env") == 0o600


def test_the_run_command_points_the_callers_at_overridden_ports(run_script):
    ports = {**run_script.PORTS, "contacts": 9102, "web": 9100}
    urls = run_script.service_urls(ports, {"NOTIFIER_URL": "http://notifier.internal:1"})

    assert urls["CONTACTS_URL"] == "http://127.0.0.1:9102"
    assert urls["DIRECTORY_URL"] == "http://127.0.0.1:8001"
    assert urls["NOTIFIER_WEB_BASE_URL"] == "http://localhost:9100"
    assert urls["NOTIFIER_URL"] == "http://notifier.internal:1", "an explicit setting wins"


def test_the_run_command_keeps_its_settings_for_commands_run_by_hand(tmp_path, permissive_umask, run_script):
    """README's everyday commands, from a plain shell after `make run`, once stopped at
    "STAFF_TOKEN_PUBLIC_KEY is required": the keys, secrets and URLs lived in honcho's environment alone."""
    var = tmp_path / "var"
    run_script.prepare_var(var)
    settings = run_script.run_settings({"CONTACTS_PORT": "9102"}, var)
    run_script.write_run_env(settings, var / "run.env")

    plain_shell = {name: value for name, value in os.environ.items() if not name.endswith(("_KEY", "_URL"))}
    load_sample = [sys.executable, "-m", "directory", "load-sample"]
    sourced = _in_shell('set -a; . var/run.env; set +a; exec "$@"', tmp_path, plain_shell, *load_sample)

    assert sourced.returncode == 0, sourced.stderr
    assert _mode(var / "run.env") == 0o600
    written = (var / "run.env").read_text()
    assert f"STAFF_TOKEN_PUBLIC_KEY={var / 'staff-token.pub.pem'}" in written
    assert "CONTACTS_URL=http://127.0.0.1:9102" in written, "the port the run used"
    assert f"WEB_SECRET_KEY={settings['WEB_SECRET_KEY']}" in written
    assert f"STAFF_TOKEN_PRIVATE_KEY={var / 'staff-token.pem'}" in written, "for `frontend api`"


ENVIRONMENT_JSON = "import json, os; print(json.dumps(dict(os.environ)))"


def test_the_run_command_gives_each_service_only_the_settings_it_reads(
    tmp_path, permissive_umask, run_script
):
    """`make run` gave every service both private keys (and every secret): a directory or
    SLA monitor process could sign staff tokens. Each Procfile line now starts its service
    with the run's settings its config.py declares, and no other."""
    var = tmp_path / "var"
    run_script.prepare_var(var)
    settings = run_script.run_settings({}, var)
    run_script.write_service_envs(settings, var / "env")
    plain_shell = run_script.without(os.environ, settings)

    given = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        entry, command = (part.strip() for part in line.split(":", 1))
        package = run_script.PACKAGES[entry]
        service = f".venv/bin/python -m {package} run"
        assert command.endswith(f"exec {service}"), line
        printed = _in_shell(
            command.replace(service, f"{shlex.quote(sys.executable)} -c '{ENVIRONMENT_JSON}'"),
            tmp_path,
            plain_shell,
        )
        assert printed.returncode == 0, printed.stderr
        environment = json.loads(printed.stdout)
        given[entry] = {name for name in environment if name in settings}
        importlib.import_module(f"{package}.config").Settings.from_env(environment)  # all it requires
        assert _mode(var / "env" / f"{entry}.env") == 0o600

    assert set(given) == set(run_script.PACKAGES), "every service is in the Procfile"
    holders = {name: {entry for entry, names in given.items() if name in names} for name in settings}
    assert holders["STAFF_TOKEN_PRIVATE_KEY"] == {"web"}
    assert holders["SERVICE_TOKEN_PRIVATE_KEY"] == {"notifier"}
    assert holders["WEB_SECRET_KEY"] == {"web"}
    assert holders["CONTACTS_ENCRYPTION_KEY"] == holders["CONTACTS_BLIND_INDEX_KEY"] == {"contacts"}
    assert holders["STAFF_TOKEN_PUBLIC_KEY"] == {"directory", "contacts", "sla-monitor", "notifier"}
    assert holders["NOTIFIER_URL"] == {"web"}
    assert holders["CONTACTS_URL"] == {"web", "notifier"}
