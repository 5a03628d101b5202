"""The account commands: python -m frontend create-user / reset-password."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from ccshared.store import connect
from ccshared.timeutil import SystemClock
from frontend.__main__ import main
from frontend.accounts import LockoutRule
from frontend.service import StaffDesk

from tests.infra import tokens


@pytest.fixture
def store_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path}/web.db"
    monkeypatch.setenv("STORE_URL", url)
    for name in ("STAFF_TOKEN_PRIVATE_KEY", "WEB_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return url


def _desk(url: str) -> StaffDesk:
    return StaffDesk(connect(url), SystemClock(), LockoutRule(), timedelta(minutes=30))


def test_create_user_prints_a_generated_password_that_signs_in(store_url, capsys):
    assert main(["create-user", "c.north", "--role", "coordinator", "--area", "north"]) == 0

    printed = capsys.readouterr().out
    password = re.search(r"^Password: (\S+)$", printed, re.MULTILINE).group(1)
    assert "Created c.north (coordinator, north area)." in printed
    assert len(password) >= 20
    assert _desk(store_url).sign_in("c.north", password, "127.0.0.1").ok


def test_create_user_reads_a_chosen_password_from_stdin_and_never_prints_it(store_url, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-password\n"))

    assert main(["create-user", "a.admin", "--role", "admin", "--password-stdin"]) == 0

    assert "a-long-enough-password" not in capsys.readouterr().out
    assert _desk(store_url).sign_in("a.admin", "a-long-enough-password", "127.0.0.1").ok


def test_create_user_refuses_an_area_role_without_an_area(store_url, capsys):
    assert main(["create-user", "s.staff", "--role", "staff"]) == 1

    assert "area" in capsys.readouterr().err
    assert _desk(store_url).accounts.get("s.staff") is None


def test_create_user_refuses_a_username_twice(store_url, capsys):
    main(["create-user", "s.staff", "--role", "staff", "--area", "south"])

    assert main(["create-user", "s.staff", "--role", "staff", "--area", "north"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_a_partner_user_made_where_contacts_cannot_be_asked_is_made_with_a_warning(store_url, capsys):
    """make run makes its demo partner before the services start; the check must not stop it."""
    assert main(["create-user", "p.partner", "--role", "partner", "--agency", "example-agency"]) == 0

    assert "agency example-agency was not checked with contacts" in capsys.readouterr().err
    assert _desk(store_url).accounts.get("p.partner").agency == "example-agency"


def test_reset_password_replaces_the_old_one(store_url, capsys):
    main(["create-user", "s.staff", "--role", "staff", "--area", "south"])
    old = re.search(r"Password: (\S+)", capsys.readouterr().out).group(1)

    assert main(["reset-password", "s.staff"]) == 0

    new = re.search(r"Password: (\S+)", capsys.readouterr().out).group(1)
    desk = _desk(store_url)
    assert not desk.sign_in("s.staff", old, "127.0.0.1").ok
    assert desk.sign_in("s.staff", new, "127.0.0.1").ok


def test_run_without_its_key_and_secret_fails_at_once_naming_them(store_url, capsys):
    assert main(["run"]) == 2

    err = capsys.readouterr().err
    assert "STAFF_TOKEN_PRIVATE_KEY is required" in err
    assert "WEB_SECRET_KEY is required" in err


def test_run_refuses_a_short_session_secret_naming_it_without_echoing_it(store_url, capsys, monkeypatch):
    monkeypatch.setenv("STAFF_TOKEN_PRIVATE_KEY", tokens.key_env("web")["STAFF_TOKEN_PRIVATE_KEY"])
    monkeypatch.setenv("WEB_SECRET_KEY", "only-31-bytes-long-for-a-secret")

    assert main(["run"]) == 2

    err = capsys.readouterr().err
    assert "WEB_SECRET_KEY is invalid: is 31 bytes; a secret needs at least 32" in err
    assert "only-31-bytes" not in err


def test_run_and_create_user_refuse_a_malformed_role_mailbox_naming_the_variable(
    store_url, capsys, monkeypatch
):
    monkeypatch.setenv("STAFF_TOKEN_PRIVATE_KEY", tokens.key_env("web")["STAFF_TOKEN_PRIVATE_KEY"])
    monkeypatch.setenv("WEB_SECRET_KEY", "a-session-secret-of-32-bytes-or-more")
    monkeypatch.setenv("NOTIFIER_PRINCIPAL_EMAIL", "not-an-address")

    assert main(["run"]) == 2
    assert main(["create-user", "s.staff", "--role", "staff", "--area", "north"]) == 2

    assert capsys.readouterr().err.count("NOTIFIER_PRINCIPAL_EMAIL") == 2


def test_create_user_makes_a_partner_user_of_one_agency(store_url, capsys):
    assert main(["create-user", "p.visitor", "--role", "partner", "--agency", "example-health-visitors"]) == 0

    printed = capsys.readouterr().out
    assert "Created p.visitor (partner, agency example-health-visitors)." in printed
    password = re.search(r"^Password: (\S+)$", printed, re.MULTILINE).group(1)
    signed = _desk(store_url).sign_in("p.visitor", password, "127.0.0.1")
    assert signed.ok and signed.account.staff_user().agency == "example-health-visitors"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--role", "partner"], "agency"),
        (["--role", "partner", "--agency", "Example Health Visitors"], "agency"),
        (["--role", "partner", "--agency", "example-health-visitors", "--area", "north"], "area"),
        (["--role", "staff", "--area", "north", "--agency", "example-health-visitors"], "agency"),
        (["--role", "admin", "--agency", "example-health-visitors"], "agency"),
    ],
)
def test_create_user_refuses_an_agency_unless_the_role_is_partner(store_url, capsys, args, field):
    assert main(["create-user", "p.visitor", *args]) == 1

    assert f"web: {field}: " in capsys.readouterr().err
    assert _desk(store_url).accounts.get("p.visitor") is None


@pytest.mark.parametrize(
    "username", ["principal.officer", "coordinator.north", "chief", "south.lead", "coordinator.central"]
)
def test_create_user_refuses_a_name_that_spells_a_role_mailbox(store_url, capsys, monkeypatch, username):
    monkeypatch.setenv("NOTIFIER_PRINCIPAL_EMAIL", "chief@council.example")
    monkeypatch.setenv(
        "NOTIFIER_COORDINATOR_EMAILS",
        "north=coordinator.north@example.org,central=coordinator.central@example.org,"
        "south=south.lead@council.example",
    )
    if username == "principal.officer":
        monkeypatch.delenv("NOTIFIER_PRINCIPAL_EMAIL")  # the default address

    assert main(["create-user", username, "--role", "staff", "--area", "south"]) == 1

    assert "username:" in capsys.readouterr().err
    assert _desk(store_url).accounts.get(username) is None
