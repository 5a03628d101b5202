"""What lets a caller into each operation, said in the service's OpenAPI document.

Every operation that needs a credential names it, so a partner's developer or a
generated client knows before trying which one to send: the front end's staff
token, a partner agency's API key, or a service's own token. An operation that
names none is open to anyone (the documents declare no global requirement). The
names here are the only spelling of those schemes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask_smorest import Api
from marshmallow import Schema, ValidationError, validates_schema

STAFF_TOKEN = "staffToken"
SERVICE_TOKEN = "serviceToken"
PARTNER_KEY = "partnerApiKey"
PARTNER_KEY_HEADER = "X-API-Key"

SCHEMES = {
    STAFF_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token the front end signs (Ed25519) for the signed-in user, addressed to "
        "this service and refused 5 s after it was made; a script gets one per call with "
        "`python -m frontend api`.",
    },
    SERVICE_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token another of the project's services signs with its own key.",
    },
    PARTNER_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": PARTNER_KEY_HEADER,
        "description": "A partner agency's key, issued by `python -m contacts agency-key create`.",
    },
}

# Keyword arguments for a blueprint's `doc(...)`.
STAFF_ONLY = {"security": [{STAFF_TOKEN: []}]}
SERVICE_ONLY = {"security": [{SERVICE_TOKEN: []}]}
# A partner agency by its key, or one of its users through the front end's partner pages.
PARTNER = {"security": [{PARTNER_KEY: []}, {STAFF_TOKEN: []}]}
# Open to anyone; a staff or service token shows more (the compliance report's small counts).
PUBLIC_MORE_WITH_TOKEN = {"security": [{}, {STAFF_TOKEN: []}, {SERVICE_TOKEN: []}]}


def declare(api: Api, *names: str) -> None:
    """Add the schemes this service accepts to its document's components."""
    for name in names:
        api.spec.components.security_scheme(name, SCHEMES[name])


# Rules over several fields ----------------------------------------------------
#
# A rule such as "give a phone or an e-mail" is declared once on its schema, in
# `rules`: the schema checks it when it loads a request, and the OpenAPI document
# states it (a field's own constraints are already there; these span fields).


@dataclass(frozen=True)
class AtLeastOne:
    """At least one of `names` is given and not empty; the error names `field`."""

    names: tuple[str, ...]
    field: str

    def check(self, data: Mapping[str, Any]) -> None:
        if not any(data.get(name) for name in self.names):
            raise ValidationError(f"give at least one of {', '.join(self.names)}", self.field)

    @property
    def said(self) -> str:
        return f"Give at least one of {', '.join(self.names)}."

    def json_schema(self) -> dict[str, Any]:
        return {
            "anyOf": [{"required": [name], "properties": {name: {"minLength": 1}}} for name in self.names]
        }


@dataclass(frozen=True)
class NeededFor:
    """When `choice` takes one of the values in `needs`, the field it maps to is given and not
    empty; the error, `message` with {value}, names that field."""

    choice: str
    needs: tuple[tuple[str, str], ...]  # (value of choice, field it needs)
    message: str = "needed when {choice} is {value}"

    def check(self, data: Mapping[str, Any]) -> None:
        value = data.get(self.choice)
        needed = dict(self.needs).get(value) if isinstance(value, str) else None
        if needed and not data.get(needed):
            raise ValidationError(self.message.format(choice=self.choice, value=value), needed)

    @property
    def said(self) -> str:
        each = "; ".join(f"with {self.choice} {value}, give {needed}" for value, needed in self.needs)
        return each[0].upper() + each[1:] + "."

    def json_schema(self) -> dict[str, Any]:
        each_need = [
            {
                "required": [self.choice, needed],
                "properties": {self.choice: {"enum": [value]}, needed: {"minLength": 1}},
            }
            for value, needed in self.needs
        ]
        others = {"properties": {self.choice: {"not": {"enum": [value for value, _ in self.needs]}}}}
        return {"anyOf": [*each_need, others]}


Rule = AtLeastOne | NeededFor


class RuledSchema(Schema):
    """A schema with rules over several fields (`rules`), checked on load and documented."""

    rules: ClassVar[tuple[Rule, ...]] = ()

    @validates_schema
    def _rules(self, data: dict, **kwargs: object) -> None:
        for rule in self.rules:
            rule.check(data)


class _RulesConverter(OpenAPIConverter):
    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        jsonschema = super().schema2jsonschema(schema)
        rules = getattr(schema, "rules", ())
        if not rules:
            return jsonschema
        if len(rules) == 1:
            jsonschema.update(rules[0].json_schema())
        else:
            jsonschema["allOf"] = [rule.json_schema() for rule in rules]
        said = " ".join(rule.said for rule in rules)
        jsonschema["description"] = (
            f"{jsonschema['description']} {said}" if "description" in jsonschema else said
        )
        return jsonschema


class Plugin(MarshmallowPlugin):
    """The marshmallow plugin of every service's document: it states the schemas' rules."""

    Converter = _RulesConverter
