"""What lets a caller into each operation, said in the service's OpenAPI document.

Every operation that needs a credential names it, so a partner's developer or a
generated client knows before trying which one to send: the front end's staff
token, a partner agency's API key, a partner user's token from the front end's
partner pages, or a service's own token. An operation that
names none is open to anyone (the documents declare no global requirement). The
names here are the only spelling of those schemes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import flask_smorest
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from flask_smorest import Api
from marshmallow import Schema, ValidationError, fields, validates_schema
from webargs.fields import DelimitedFieldMixin
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

STAFF_TOKEN = "staffToken"
SERVICE_TOKEN = "serviceToken"
PARTNER_KEY = "partnerApiKey"
PARTNER_USER_TOKEN = "partnerUserToken"
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
    PARTNER_USER_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The token the front end signs (Ed25519) for a partner user signed in to its "
        "partner pages, naming the user's agency, addressed to this service and refused 5 s after it "
        "was made. Only the front end holds one: a partner agency's own software sends its "
        "X-API-Key. A staff member's token is refused here (403).",
    },
}

# Keyword arguments for a blueprint's `doc(...)`.
STAFF_ONLY = {"security": [{STAFF_TOKEN: []}]}
SERVICE_ONLY = {"security": [{SERVICE_TOKEN: []}]}
# A partner agency by its key, or one of its users through the front end's partner pages.
PARTNER = {"security": [{PARTNER_KEY: []}, {PARTNER_USER_TOKEN: []}]}
# Open to anyone; a staff or service token shows more (the compliance report's small counts).
PUBLIC_MORE_WITH_TOKEN = {"security": [{}, {STAFF_TOKEN: []}, {SERVICE_TOKEN: []}]}


def too_many_requests(description: str) -> dict[str, Any]:
    """The 429 answer of an operation a rate limit guards (ccshared.ratelimit): the error envelope,
    and Retry-After, the whole seconds until the limit's window ends."""
    return {
        "description": description,
        "headers": {
            "Retry-After": {
                "description": "seconds to wait before calling again (at least 1): the rest of the window",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }


def declare(api: Api, *names: str) -> None:
    """Add the schemes this service accepts to its document's components."""
    for name in names:
        api.spec.components.security_scheme(name, SCHEMES[name])


# One document, and the part of it one kind of caller may call ----------------

OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def part_for(document: Mapping[str, Any], scheme: str, title: str) -> dict[str, Any]:
    """The operations of `document` that a caller with `scheme` may call, word for word, with the
    components, tags and security schemes they use: the document of a host that serves only them
    (the partner host), cut from the service's one document so the two cannot disagree."""
    paths = {}
    for path, item in document["paths"].items():
        kept = {
            method: operation
            for method, operation in item.items()
            if method in OPERATIONS and {scheme: []} in operation.get("security", [])
        }
        if kept:
            paths[path] = {**{key: value for key, value in item.items() if key not in OPERATIONS}, **kept}
    operations = [op for item in paths.values() for method, op in item.items() if method in OPERATIONS]
    components = document.get("components", {})
    used = used_components(paths, components)
    named = sorted({name for op in operations for option in op.get("security", []) for name in option})
    used["securitySchemes"] = {name: components["securitySchemes"][name] for name in named}
    tags = {tag for op in operations for tag in op.get("tags", [])}
    return {
        "openapi": document["openapi"],
        "info": {**document["info"], "title": title},
        "tags": [tag for tag in document.get("tags", []) if tag["name"] in tags],
        "paths": paths,
        "components": used,
    }


def used_components(paths: Mapping[str, Any], components: Mapping[str, Any]) -> dict[str, Any]:
    """The components `paths` refer to, and those they refer to in turn."""
    used: dict[str, dict[str, Any]] = {}
    waiting = list(_refs(paths))
    while waiting:
        kind, name = waiting.pop()
        if name in used.get(kind, {}):
            continue
        found = components[kind][name]
        used.setdefault(kind, {})[name] = found
        waiting.extend(_refs(found))
    return used


def _refs(node: Any) -> Iterable[tuple[str, str]]:
    """(kind, name) of every `#/components/<kind>/<name>` reference inside `node`."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            kind, name = ref.removeprefix("#/components/").split("/", 1)
            yield kind, name
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


# Rules over several fields ----------------------------------------------------
#
# A rule such as "give a phone or an e-mail" is declared once on its schema, in
# `rules`: the schema checks it when it loads a request, and the OpenAPI document
# states it (a field's own constraints are already there; these span fields).


def _given(value: object) -> bool:
    """Given: present, and neither false, a blank string nor an empty list or object (0 is given)."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return value is not None and value is not False


def _how_many(data: Mapping[str, Any], names: Iterable[str]) -> int:
    """How many of `names` the data gives."""
    return sum(_given(data.get(name)) for name in names)


def _given_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of `_given(data[name])`; `pattern`, `minItems` and `minProperties` each speak
    to their own type only. A null passes it: a rule's fields refuse null themselves (none allows it)."""
    given = {"not": {"enum": [False]}, "pattern": r"\S", "minItems": 1, "minProperties": 1}
    return {"required": [name], "properties": {name: given}}


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names)


@dataclass(frozen=True)
class AtLeastOne:
    """At least one of `names` is given; the error, `message` or one naming them all, names `field`."""

    names: tuple[str, ...]
    field: str
    message: str = ""
    HOW_MANY: ClassVar[str] = "at least one"
    KEYWORD: ClassVar[str] = "anyOf"  # the JSON Schema keyword that counts the branches so

    @property
    def about(self) -> tuple[str, ...]:
        return self.names

    def check(self, data: Mapping[str, Any]) -> None:
        if _how_many(data, self.names) == 0:
            raise ValidationError(self.message or self._wanted, self.field)

    @property
    def _wanted(self) -> str:
        return f"give {self.HOW_MANY} of {_listed(self.names)}"

    @property
    def said(self) -> str:
        return self._wanted[0].upper() + self._wanted[1:] + "."

    def json_schema(self) -> dict[str, Any]:
        return {self.KEYWORD: [_given_schema(name) for name in self.names]}


@dataclass(frozen=True)
class ExactlyOne(AtLeastOne):
    """One of `names` is given, not more; when more, the error is `both` (or `message`)."""

    both: str = ""
    HOW_MANY: ClassVar[str] = "exactly one"
    KEYWORD: ClassVar[str] = "oneOf"

    def check(self, data: Mapping[str, Any]) -> None:
        super().check(data)
        if _how_many(data, self.names) > 1:
            raise ValidationError(self.both or self.message or self._wanted, self.field)


@dataclass(frozen=True)
class AtMostOne:
    """No more than one of `names` is given; the error, `message`, names `field`."""

    names: tuple[str, ...]
    field: str
    message: str

    @property
    def about(self) -> tuple[str, ...]:
        return self.names

    def check(self, data: Mapping[str, Any]) -> None:
        if _how_many(data, self.names) > 1:
            raise ValidationError(self.message, self.field)

    @property
    def said(self) -> str:
        return f"Give at most one of {_listed(self.names)}."

    def json_schema(self) -> dict[str, Any]:
        pairs = [
            {"allOf": [_given_schema(first), _given_schema(second)]}
            for index, first in enumerate(self.names)
            for second in self.names[index + 1 :]
        ]
        return {"not": {"anyOf": pairs}}


@dataclass(frozen=True)
class Together:
    """`names` are given all together or not at all; the error, `message`, names the first missing."""

    names: tuple[str, ...]
    message: str

    @property
    def about(self) -> tuple[str, ...]:
        return self.names

    def check(self, data: Mapping[str, Any]) -> None:
        missing = [name for name in self.names if not _given(data.get(name))]
        if missing and len(missing) < len(self.names):
            raise ValidationError(self.message, missing[0])

    @property
    def said(self) -> str:
        return f"Give {_listed(self.names)} together or none of them."

    def json_schema(self) -> dict[str, Any]:
        every = {"allOf": [_given_schema(name) for name in self.names]}
        none = {"not": {"anyOf": [_given_schema(name) for name in self.names]}}
        return {"anyOf": [every, none]}


@dataclass(frozen=True)
class NeededWith:
    """When `flag` is given, so is at least one of `names`; the error, `message`, names `field`."""

    flag: str
    names: tuple[str, ...]
    field: str
    message: str

    @property
    def about(self) -> tuple[str, ...]:
        return (self.flag, *self.names)

    def check(self, data: Mapping[str, Any]) -> None:
        if _given(data.get(self.flag)) and _how_many(data, self.names) == 0:
            raise ValidationError(self.message, self.field)

    @property
    def said(self) -> str:
        return f"With {self.flag}, give at least one of {_listed(self.names)}."

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [{"not": _given_schema(self.flag)}, *(_given_schema(name) for name in self.names)]}


@dataclass(frozen=True)
class NotWith:
    """When `flag` is given, none of `names` is (one would be ignored); the error, `message`,
    names `flag` and each of `names` given."""

    flag: str
    names: tuple[str, ...]
    message: str

    @property
    def about(self) -> tuple[str, ...]:
        return (self.flag, *self.names)

    def check(self, data: Mapping[str, Any]) -> None:
        given = [name for name in self.names if _given(data.get(name))]
        if _given(data.get(self.flag)) and given:
            raise ValidationError({name: [self.message] for name in (self.flag, *given)})

    @property
    def said(self) -> str:
        return f"With {self.flag}, give none of {_listed(self.names)}."

    def json_schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"not": _given_schema(self.flag)},
                {"not": {"anyOf": [_given_schema(name) for name in self.names]}},
            ]
        }


@dataclass(frozen=True)
class NeededFor:
    """When `choice` takes one of the values in `needs`, the field it maps to is given; the error,
    `message` with {value}, names that field."""

    choice: str
    needs: tuple[tuple[str, str], ...]  # (value of choice, field it needs)
    message: str = "needed when {choice} is {value}"

    @property
    def about(self) -> tuple[str, ...]:
        return (self.choice, *(needed for _, needed in self.needs))

    def check(self, data: Mapping[str, Any]) -> None:
        value = data.get(self.choice)
        needed = dict(self.needs).get(value) if isinstance(value, str) else None
        if needed and not _given(data.get(needed)):
            raise ValidationError(self.message.format(choice=self.choice, value=value), needed)

    @property
    def said(self) -> str:
        each = "; ".join(f"with {self.choice} {value}, give {needed}" for value, needed in self.needs)
        return each[0].upper() + each[1:] + "."

    def json_schema(self) -> dict[str, Any]:
        each_need = [
            {
                "required": [self.choice, needed],
                "properties": {self.choice: {"enum": [value]}, **_given_schema(needed)["properties"]},
            }
            for value, needed in self.needs
        ]
        others = {"properties": {self.choice: {"not": {"enum": [value for value, _ in self.needs]}}}}
        return {"anyOf": [*each_need, others]}


Rule = AtLeastOne | ExactlyOne | AtMostOne | Together | NeededWith | NotWith | NeededFor


class RuledSchema(Schema):
    """A schema with rules over several fields (`rules`), checked on load and documented."""

    rules: ClassVar[tuple[Rule, ...]] = ()

    @validates_schema
    def _rules(self, data: dict, **kwargs: object) -> None:
        """Every rule broken is reported, each under its field, but for a rule about a field that
        one before it already found wrong: with centre_id and nearest both given, saying that
        nearest also needs a place would mislead."""
        broken: dict[str, list[str]] = {}
        wrong: set[str] = set()
        for rule in self.rules:
            if wrong.intersection(rule.about):
                continue
            try:
                rule.check(data)
            except ValidationError as exc:
                wrong.update(rule.about)
                for field, messages in exc.normalized_messages().items():
                    broken.setdefault(field, []).extend(messages)
        if broken:
            raise ValidationError(broken)


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


# A JSON body is held to the types its document states. marshmallow alone would take "yes" or 1 for a
# boolean, "53.4" for a number, and 2.5 for a whole number (as 2): a body the document refuses.
_JSON_TYPES = ((fields.Boolean, (bool,)), (fields.Integer, (int,)), (fields.Number, (int, float)))


def _wrong_type(field: fields.Field, value: object) -> Any:
    """The field's error for a JSON value of the wrong type; None if the type is right (or for the
    field's own checks to judge: null, a container that is not one, a type not listed above)."""
    if value is None or isinstance(field, fields.Pluck):
        return None
    if isinstance(field, fields.Nested):
        if field.many:
            return _each(value, lambda item: json_type_errors(field.schema, item))
        return json_type_errors(field.schema, value) or None
    if isinstance(field, fields.List):
        return _each(value, lambda item: _wrong_type(field.inner, item))
    for kind, types in _JSON_TYPES:
        if isinstance(field, kind):
            return None if type(value) in types else [field.error_messages["invalid"]]
    return None


def _each(value: object, wrong: Callable[[object], Any]) -> dict[int, Any] | None:
    """{index: its error} for the items of a JSON array; None if all are right or it is no array."""
    if not isinstance(value, list):
        return None
    return {i: error for i, item in enumerate(value) if (error := wrong(item))} or None


def json_type_errors(schema: Schema, data: object) -> dict[Any, Any]:
    """{field: its error} for each value of a JSON body whose type is not the one its field states."""
    if not isinstance(data, Mapping):
        return {}
    found = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if key in data and (wrong := _wrong_type(field, data[key])) is not None:
            found[key] = wrong
    return found


def _merged(into: dict[Any, Any], wrong: Mapping[Any, Any]) -> dict[Any, Any]:
    for key, value in wrong.items():
        both = isinstance(into.get(key), dict) and isinstance(value, dict)
        into[key] = _merged(into[key], value) if both else value
    return into


class _Parser(FlaskParser):
    # A query parameter the operation does not take is refused by name (a typo, or a filter the
    # list has not got, would otherwise be ignored and the answer taken as filtered), unless the
    # schema says otherwise: ORUK's federated consumers send parameters a path does not list.
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }

    def pre_load(self, location_data: Any, *, schema: Schema, req: Any, location: str) -> Any:
        """A body with a value of the wrong type is refused, with every other error the schema finds
        (found as if the values had been taken): the caller fixes them all in one go. A query
        string's repeated parameters are read as `_repeats_read` says."""
        if isinstance(location_data, MultiDictProxy) and location in ("query", "querystring"):
            return _repeats_read(location_data, schema)
        wrong = json_type_errors(schema, location_data) if location == "json" else {}
        if wrong:
            try:
                schema.load(location_data)
                others: dict[Any, Any] = {}
            except ValidationError as error:
                others = error.messages if isinstance(error.messages, dict) else {}
            raise ValidationError(_merged(others, wrong))
        return location_data


def _repeats_read(args: MultiDictProxy, schema: Schema) -> MultiDictProxy:
    """A repeated query parameter means what it says, never only its first value: a comma-separated
    list's values are joined, as if sent with commas (`support_needed=a&support_needed=b` is
    `support_needed=a,b`); any other parameter of the operation given twice is refused by name."""
    by_key = {field.data_key or name: field for name, field in schema.fields.items()}
    read: MultiDict = MultiDict()
    repeated: dict[str, list[str]] = {}
    for key, values in args.data.lists():
        field = by_key.get(key)
        if len(values) < 2 or field is None or key in args.multiple_keys:
            read.setlist(key, values)
        elif isinstance(field, DelimitedFieldMixin):
            read[key] = field.delimiter.join(values)
        else:
            repeated[key] = [f"given {len(values)} times: give {key} once, with one value"]
    if repeated:
        raise ValidationError(repeated)
    return MultiDictProxy(read, schema)


class Blueprint(flask_smorest.Blueprint):
    """Every service's blueprint: its JSON bodies are loaded with their documented types, and its
    query strings take only the parameters the operation documents."""

    ARGUMENTS_PARSER = _Parser()
