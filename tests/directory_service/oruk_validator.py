"""Judge /oruk/ answers as the Open Referral UK validator does, from ../shared/oruk-3.0.

The specification's schemas refer to each other by their published URLs
(https://openreferraluk.org/specifications/3.0/schema/...); a `referencing`
registry maps every such URL to the local copy, and refuses any other, so the
tests never reach the network. The schemas are HSDS "datapackage" JSON
schemas: plain JSON Schema keywords plus `datapackage_type` (date, time,
datetime), which is checked too since it is how the profile says a string
holds a date.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parents[3] / "shared" / "oruk-3.0"
SCHEMA_BASE = "https://openreferraluk.org/specifications/3.0/schema/"


def _datapackage_type(validator, kind, instance, schema):
    if not isinstance(instance, str):
        return
    parsers = {"date": date.fromisoformat, "time": time.fromisoformat, "datetime": datetime.fromisoformat}
    parse = parsers.get(kind)
    try:
        if parse:
            parse(instance.replace("Z", "+00:00") if kind == "datetime" else instance)
    except ValueError:
        yield ValidationError(f"{instance!r} is not a valid {kind}")


OrukValidator = validators.extend(Draft202012Validator, {"datapackage_type": _datapackage_type})


def _refuse(uri: str) -> Resource:
    raise NoSuchResource(ref=uri)


@cache
def registry() -> Registry:
    """Every schema of the specification under its published URL, and nothing else."""
    resources = [
        (SCHEMA_BASE + path.name, DRAFT202012.create_resource(json.loads(path.read_text())))
        for path in sorted((SPEC / "schema").glob("*.json"))
    ]
    return Registry(retrieve=_refuse).with_resources(resources)


@cache
def openapi() -> dict[str, Any]:
    return json.loads((SPEC / "openapi.json").read_text())


def paths() -> list[str]:
    return list(openapi()["paths"])


def schema_url(path: str) -> str:
    """The schema the OpenAPI document names for a path's 200 answer."""
    answer = openapi()["paths"][path]["get"]["responses"]["200"]
    return answer["content"]["application/json"]["schema"]["$ref"]


def validator(url: str) -> Draft202012Validator:
    return OrukValidator(
        {"$ref": url}, registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def errors(url: str, instance: Any) -> list[str]:
    found = sorted(validator(url).iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{list(e.absolute_path)}: {e.message}" for e in found]


def assert_valid(url: str, instance: Any) -> None:
    problems = errors(url, instance)
    assert not problems, "\n".join(problems[:10])


def schema(name: str) -> str:
    return SCHEMA_BASE + name
