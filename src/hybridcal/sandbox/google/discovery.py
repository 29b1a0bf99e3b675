"""Requests checked against the discovery documents shipped with google-api-python-client.

The simulator routes and validates exactly what Google publishes for Calendar v3 and Gmail v1:
the method (HTTP verb + path template), its query parameters (name, type, enum, minimum,
maximum, repeated, required) plus the API-wide ones (``alt``, ``fields``, ``prettyPrint``...),
the scopes that may call it, and the request body against its schema (unknown fields and wrong
JSON types are rejected). Path parameters arrive percent-encoded and are decoded per segment.

Google caps ``maxResults`` at 2500 silently ("the page size can never be larger than 2500");
the cap is applied by the listing code, not rejected here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

from hybridcal.sandbox.google.errors import ApiError, bad_request, required


@dataclass(frozen=True)
class MethodSpec:
    id: str
    http_method: str
    segments: tuple[str, ...]
    parameters: Mapping[str, Mapping[str, Any]]
    scopes: frozenset[str]
    request_schema: str | None

    @property
    def specificity(self) -> int:
        return sum(1 for s in self.segments if not s.startswith("{"))


@cache
def load_document(name: str) -> dict[str, Any]:
    """``name`` like ``calendar.v3``: the JSON the client library itself builds from."""
    path = resources.files("googleapiclient") / "discovery_cache" / "documents" / f"{name}.json"
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _walk_methods(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = list(node.get("methods", {}).values())
    for child in node.get("resources", {}).values():
        found.extend(_walk_methods(child))
    return found


class Api:
    """One discovery document: routing, parameter and body validation."""

    def __init__(self, name: str) -> None:
        self.doc = load_document(name)
        self.schemas: Mapping[str, Any] = self.doc.get("schemas", {})
        common = self.doc.get("parameters", {})
        specs = []
        for method in _walk_methods(self.doc):
            params = dict(common)
            params.update(method.get("parameters", {}))
            specs.append(
                MethodSpec(
                    id=method["id"],
                    http_method=method["httpMethod"],
                    segments=tuple(method["path"].split("/")),
                    parameters=params,
                    scopes=frozenset(method.get("scopes", [])),
                    request_schema=(method.get("request") or {}).get("$ref"),
                )
            )
        # literal segments win over variables: "events/watch" is not an eventId
        self.methods = sorted(specs, key=lambda s: -s.specificity)

    def match(self, http_method: str, raw_path: str) -> tuple[MethodSpec, dict[str, str]]:
        """``raw_path`` relative to the service root, still percent-encoded."""
        parts = raw_path.split("/")
        path_known = False
        for spec in self.methods:
            values = _match_segments(spec.segments, parts)
            if values is None:
                continue
            path_known = True
            if spec.http_method == http_method:
                return spec, values
        if path_known:
            raise ApiError(405, "httpMethodNotAllowed", f"HTTP method {http_method} not allowed")
        raise ApiError(404, "notFound", "Not Found")

    def parse_query(self, spec: MethodSpec, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, raw in pairs:
            param = spec.parameters.get(name)
            if param is None or param.get("location") == "path":
                raise bad_request(
                    f"Invalid parameter: {name}", reason="invalidParameter", parameter=name
                )
            value = _convert(name, raw, param)
            if param.get("repeated"):
                values.setdefault(name, []).append(value)
            else:
                values[name] = value
        for name, param in spec.parameters.items():
            if param.get("location") == "query" and param.get("required") and name not in values:
                raise required(name)
        return values

    def validate_body(self, spec: MethodSpec, body: Any) -> dict[str, Any]:
        if spec.request_schema is None:
            return {}
        if not isinstance(body, dict):
            raise ApiError(400, "parseError", "Parse Error")
        self._check({"$ref": spec.request_schema}, body, "")
        return body

    def _check(self, schema: Mapping[str, Any], value: Any, where: str) -> None:
        if value is None:
            return  # null = "unset"; patch uses it to delete
        if "$ref" in schema:
            self._check(self.schemas[schema["$ref"]], value, where)
            return
        kind = schema.get("type", "any")
        if kind == "object":
            if not isinstance(value, dict):
                raise _invalid_field(where)
            props = schema.get("properties")
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                child = f"{where}.{key}" if where else key
                if props is not None and key in props:
                    self._check(props[key], item, child)
                elif extra is not None:
                    self._check(extra, item, child)
                else:
                    raise bad_request(f"Unknown field: {child}", parameter=child)
        elif kind == "array":
            if not isinstance(value, list):
                raise _invalid_field(where)
            for index, item in enumerate(value):
                self._check(schema.get("items", {}), item, f"{where}[{index}]")
        elif kind == "string":
            if not isinstance(value, str):
                raise _invalid_field(where)
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise _invalid_field(where)
        elif kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            raise _invalid_field(where)


def _invalid_field(where: str) -> ApiError:
    return bad_request(f"Invalid value for field {where}", parameter=where)


def _match_segments(template: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    if len(template) != len(parts):
        return None
    values: dict[str, str] = {}
    for want, got in zip(template, parts, strict=True):
        if want.startswith("{"):
            if not got:
                return None
            values[want.strip("{}+")] = unquote(got)
        elif want != got:
            return None
    return values


def _convert(name: str, raw: str, param: Mapping[str, Any]) -> Any:
    kind = param.get("type", "string")
    value: Any = raw
    if kind == "boolean":
        if raw.lower() not in {"true", "false"}:
            raise bad_request(f"Invalid boolean value: '{raw}'.", parameter=name)
        value = raw.lower() == "true"
    elif kind == "integer":
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"Invalid integer value: '{raw}'.", parameter=name) from None
        low, high = param.get("minimum"), param.get("maximum")
        if low is not None and value < int(low):
            raise bad_request(f"Invalid value '{raw}'. Must be >= {low}.", parameter=name)
        if high is not None and value > int(high):
            raise bad_request(f"Invalid value '{raw}'. Must be <= {high}.", parameter=name)
    elif param.get("format") == "date-time":
        value = parse_rfc3339(raw, name)
    enum = param.get("enum")
    if enum is not None and raw not in enum:
        raise bad_request(f"Invalid value '{raw}' for {name}.", parameter=name)
    return value


def parse_rfc3339(raw: str, name: str) -> datetime:
    """A timestamp with a mandatory offset, as Google requires for timeMin/timeMax/updatedMin."""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_request(
            f"Bad Request: {name} is not an RFC3339 timestamp", parameter=name
        ) from None
    if parsed.tzinfo is None or "T" not in raw.upper():
        raise bad_request(
            f"Bad Request: {name} needs a time and a time zone offset", parameter=name
        )
    return parsed
