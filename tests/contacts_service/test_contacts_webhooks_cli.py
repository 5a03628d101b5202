"""An agency's callback URL and webhook secret, set with the admin command:
the secret is shown once, kept only encrypted, and bad URLs write nothing."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest
from ccshared import store as store_module
from contacts.config import Settings
from contacts.crypto import PersonalDataCipher
from contacts.repository import AgencyRepository
from contacts.webhooks import checked_callback_url

AGENCY = "example-midwives"
SECRET_LINE = "Webhook secret: "


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "contacts", "agency-key", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def secret_of(result: subprocess.CompletedProcess) -> str | None:
    """The secret printed, if any; fails if it is printed more than once."""
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(SECRET_LINE)]
    assert len(lines) <= 1
    return lines[0][len(SECRET_LINE) :] if lines else None


def stored(env: dict[str, str]) -> tuple[dict, str | None]:
    """The agency's profile and its secret, decrypted with the service's key."""
    settings = Settings.from_env(env)
    profile = AgencyRepository(store_module.connect(settings.store_url)).profile(AGENCY) or {}
    token = profile.get("webhook_secret")
    return profile, PersonalDataCipher(settings.encryption_key).decrypt(token) if token else None


def test_the_secret_is_shown_once_kept_encrypted_and_kept_or_rotated_as_asked(cli_env, tmp_path):
    created = run_cli(
        cli_env, "create", "--agency", "Example Midwives", "--callback-url", "https://hooks.example.org/in"
    )
    secret = secret_of(created)
    assert secret and secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert "webhook: https://hooks.example.org/in" in created.stdout
    profile, kept = stored(cli_env)
    assert kept == secret and profile["callback_url"] == "https://hooks.example.org/in"
    assert secret.encode() not in (tmp_path / "contacts.db").read_bytes()
    listed = run_cli(cli_env, "list")
    assert listed.returncode == 0 and secret not in listed.stdout and "whsec_" not in listed.stdout

    moved = run_cli(cli_env, "update", "--agency", AGENCY, "--callback-url", "https://hooks.example.org/v2")
    assert secret_of(moved) is None and "secret unchanged" in moved.stdout
    profile, kept = stored(cli_env)
    assert kept == secret and profile["callback_url"] == "https://hooks.example.org/v2"

    rotated = secret_of(run_cli(cli_env, "update", "--agency", AGENCY, "--rotate-webhook-secret"))
    assert rotated and rotated != secret and stored(cli_env)[1] == rotated

    removed = run_cli(cli_env, "update", "--agency", AGENCY, "--remove-callback-url")
    assert secret_of(removed) is None and "webhook: (none" in removed.stdout
    profile, kept = stored(cli_env)
    assert profile["callback_url"] is None and kept is None

    again = secret_of(
        run_cli(cli_env, "update", "--agency", AGENCY, "--callback-url", "http://localhost:9/in")
    )
    assert again and again not in (secret, rotated) and stored(cli_env)[1] == again


def test_a_bad_callback_url_is_refused_by_name_and_nothing_is_written(cli_env):
    refused = run_cli(
        cli_env, "create", "--agency", "Example Midwives", "--callback-url", "http://hooks.example.org"
    )
    assert refused.returncode == 2 and "--callback-url" in refused.stderr and "https" in refused.stderr
    assert "whsec_" not in refused.stdout + refused.stderr
    assert run_cli(cli_env, "list").stdout == "" and stored(cli_env)[0] == {}

    run_cli(cli_env, "create", "--agency", "Example Midwives", "--notify-email", "team@midwives.example.org")
    before = stored(cli_env)[0]
    for args in (
        ("--callback-url", "ftp://hooks.example.org/in", "--notify-email", "duty@midwives.example.org"),
        ("--callback-url", "https://hooks.example.org/in", "--remove-callback-url"),
        ("--rotate-webhook-secret",),
    ):
        result = run_cli(cli_env, "update", "--agency", AGENCY, *args)
        assert result.returncode == 2, args
        assert args[0] in result.stderr or "--remove-callback-url" in result.stderr
        assert stored(cli_env)[0] == before


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.org/in?token=abc",
        "https://hooks.example.org:8443/in",
        "http://127.0.0.1:8080/in",
        "http://127.9.9.9/in",
        "http://localhost/in",
        "http://[::1]:9000/in",
    ],
)
def test_https_or_loopback_http_is_accepted(url):
    assert checked_callback_url(f"  {url} ") == url


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/in",
        "http://10.0.0.1/in",
        "http://[::2]/in",
        "ftp://hooks.example.org/in",
        "hooks.example.org/in",
        "https:///in",
        "https://user:password@hooks.example.org/in",
        "https://hooks.example.org/in#part",
        "https://hooks.example.org:port/in",
        "https://hooks.example.org/a b",
        "https://hooks.example.org/" + "a" * 2000,
        "",
    ],
)
def test_other_urls_are_refused_naming_the_option(url):
    with pytest.raises(ValueError, match="^--callback-url: "):
        checked_callback_url(url)


def test_the_secret_line_is_the_only_place_a_secret_appears(cli_env):
    created = run_cli(
        cli_env, "create", "--agency", "Example Midwives", "--callback-url", "https://hooks.example.org/in"
    )
    secret = secret_of(created)
    shown = run_cli(cli_env, "update", "--agency", AGENCY)
    assert secret and secret not in shown.stdout + shown.stderr
    assert json.loads(run_cli(cli_env, "list").stdout.splitlines()[0])["agency_id"] == AGENCY
