"""The SAMPLE centres file, the configuration and the `python -m directory` commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from importlib import resources

import pytest
from ccshared.config import ConfigError
from ccshared.contracts import AREAS
from ccshared.geo import normalise_postcode
from directory import config
from directory.sample import sample_file, sample_ids
from directory_testkit import NEW_CENTRE

from tests.infra import tokens


def test_sample_file_says_it_is_sample_data_first():
    raw = (resources.files("directory") / "sample_centres.json").read_text(encoding="utf-8")
    assert raw.lstrip().startswith('{\n  "notice": "SAMPLE DATA')
    assert "NOT the council's official list" in sample_file()["notice"]


def test_sample_has_24_centres_eight_per_area_with_fake_contact_details():
    centres = [entry["details"] for entry in sample_file()["centres"]]
    assert len(centres) == 24
    assert {area: sum(c["area"] == area for c in centres) for area in AREAS} == {a: 8 for a in AREAS}
    for centre in centres:
        assert re.fullmatch(r"0151 496 0\d{3}", centre["phone"]), "Ofcom drama range only"
        assert centre["email"].endswith("@example.org")
        assert centre["website"].startswith("https://example.org/")
        assert normalise_postcode(centre["postcode"]) == centre["postcode"]
        assert centre["postcode"].startswith("L")
        assert 53.3 < centre["location"]["latitude"] < 53.5 and -3.0 < centre["location"]["longitude"] < -2.8
    assert len({c["phone"] for c in centres}) == 24


def test_sample_ids_are_stable_uuids():
    first, second = sample_ids(), sample_ids()
    assert first == second
    namespace = uuid.UUID(sample_file()["namespace"])
    assert first["anfield"] == str(uuid.uuid5(namespace, "anfield"))
    assert all(uuid.UUID(value).version == 5 for value in first.values())


def test_a_few_sample_centres_are_stale():
    ages = [entry["verified_days_ago"] for entry in sample_file()["centres"]]
    assert 3 <= sum(age > 90 for age in ages) <= 6


def test_config_defaults_and_every_bad_variable_named():
    settings = config.Settings.from_env(tokens.key_env("directory"))
    assert (settings.stale_days, settings.geocoder_url, settings.store_url) == (
        90,
        "",
        "sqlite:///var/directory.db",
    )
    with pytest.raises(ConfigError) as error:
        config.Settings.from_env({"DIRECTORY_STALE_DAYS": "soon", "GEOCODER_URL": "file:///etc/passwd"})
    problems = " ".join(error.value.problems)
    for name in ("STAFF_TOKEN_PUBLIC_KEY", "DIRECTORY_STALE_DAYS", "GEOCODER_URL"):
        assert name in problems


def _run(args: list[str], store_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "STORE_URL": store_url, **tokens.key_env("directory"), "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "directory", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_load_sample_command_is_idempotent(tmp_path):
    store_url = f"sqlite:///{tmp_path}/cli.db"
    first = _run(["load-sample"], store_url)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"sample_centres_created": 24, "already_present": 0}
    second = _run(["load-sample"], store_url)
    assert json.loads(second.stdout) == {"sample_centres_created": 0, "already_present": 24}


def test_a_malformed_store_url_is_named_without_its_password(tmp_path):
    result = _run(["load-sample"], "mongodbx://dir:S3cretPass@mongo:27017/directory")
    assert result.returncode == 2
    assert "STORE_URL='mongodbx://***@mongo:27017/directory' is invalid" in result.stderr
    assert "S3cretPass" not in result.stderr + result.stdout


def test_a_missing_key_stops_the_command_with_its_name(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "STAFF_TOKEN_PUBLIC_KEY"}
    env["STORE_URL"] = f"sqlite:///{tmp_path}/cli.db"
    result = subprocess.run(
        [sys.executable, "-m", "directory", "load-sample"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "STAFF_TOKEN_PUBLIC_KEY" in result.stderr


def test_the_api_marks_every_sample_centre_even_once_staff_have_checked_it(client, ids, staff):
    listed = client.get("/api/v1/centres?per_page=100").get_json()["items"]
    assert len(listed) == 24 and all(centre["sample"] is True for centre in listed)
    checked = client.post(f"/api/v1/centres/{ids['anfield']}/verify", headers=staff("coordinator", "north"))
    assert checked.status_code == 200, checked.get_json()
    assert client.get(f"/api/v1/centres/{ids['anfield']}").get_json()["sample"] is True

    made = client.post("/api/v1/centres", json=NEW_CENTRE, headers=staff("admin"))

    assert made.status_code == 201, made.get_json()
    assert made.get_json()["sample"] is False
    assert client.get(f"/api/v1/centres/{made.get_json()['id']}").get_json()["sample"] is False


def test_the_stale_list_marks_sample_centres_as_the_search_does(client, staff, clock):
    made = client.post("/api/v1/centres", json=NEW_CENTRE, headers=staff("admin")).get_json()
    clock.advance(days=200)

    listed = client.get("/api/v1/centres/stale", headers=staff("admin")).get_json()["items"]

    sample = {item["id"]: item["sample"] for item in listed}
    assert sample.pop(made["id"]) is False, "a centre staff added is not sample data"
    assert len(sample) == 24 and set(sample.values()) == {True}
