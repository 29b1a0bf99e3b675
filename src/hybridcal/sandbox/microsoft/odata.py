"""The OData query options the simulator understands, and refusals for the rest.

``$select`` (comma list), ``$expand=singleValueExtendedProperties($filter=id eq '...')`` (several
ids joined by ``or``; a filter is required), ``$top``/``$skip`` on lists. ``$filter``,
``$orderby``, ``$search`` and ``$count`` on event lists are not simulated (501), so a test never
passes by accident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from hybridcal.sandbox.microsoft.errors import GraphError, bad_request, not_implemented
from hybridcal.sandbox.microsoft.http import Call
from hybridcal.sandbox.microsoft.render import View, check_select
from hybridcal.sandbox.microsoft.times import zone
from hybridcal.sandbox.microsoft.validate import canonical_prop_id

_EXPAND = re.compile(r"^singleValueExtendedProperties(?:\((?P<options>.*)\))?$", re.IGNORECASE)
_FILTER = re.compile(r"^\$filter=(?P<expr>.+)$", re.IGNORECASE)
_ID_EQ = re.compile(r"^\s*id\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*$", re.IGNORECASE)
_NAVIGATION = {"attachments", "calendar", "extensions", "instances", "multivalueextendedproperties"}
MAX_TOP = 1000


def select(query: Mapping[str, str]) -> frozenset[str] | None:
    raw = query.get("$select")
    if raw is None:
        return None
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    check_select(names)
    return names


def expand(query: Mapping[str, str]) -> tuple[str, ...] | None:
    raw = query.get("$expand")
    if raw is None:
        return None
    match = _EXPAND.match(raw.strip())
    if match is None:
        name = raw.split("(", 1)[0].strip()
        if name.lower() in _NAVIGATION:
            raise not_implemented(f"$expand={name}")
        raise GraphError(
            400,
            "BadRequest",
            "Parsing OData Select and Expand failed: Could not find a property named "
            f"'{name}' on type 'microsoft.graph.event'.",
        )
    options = match.group("options")
    found = _FILTER.match(options or "")
    if found is None:
        raise bad_request(
            "Expanding singleValueExtendedProperties needs $filter on the property id."
        )
    ids = []
    for clause in re.split(r"\s+or\s+", found.group("expr"), flags=re.IGNORECASE):
        eq = _ID_EQ.match(clause)
        if eq is None:
            raise bad_request(f"Unsupported filter clause in $expand: '{clause}'.")
        ids.append(canonical_prop_id(eq.group("value").replace("''", "'")))
    return tuple(ids)


def view(call: Call) -> View:
    zone_name = call.prefer.get("outlook.timezone")
    if zone_name:
        zone(zone_name)
        call.applied.append(f'outlook.timezone="{zone_name}"')
    body_type = call.prefer.get("outlook.body-content-type")
    if body_type is not None:
        body_type = body_type.lower()
        if body_type not in {"text", "html"}:
            raise bad_request(f"Invalid outlook.body-content-type '{body_type}'.")
        call.applied.append(f'outlook.body-content-type="{body_type}"')
    return View(
        zone=zone_name or "UTC",
        body_type=body_type,
        select=select(call.query),
        props=expand(call.query),
    )


def paging(query: Mapping[str, str], default: int = 10) -> tuple[int, int]:
    """``($top, $skip)``; 400 for values that are not non-negative integers."""
    out = []
    for name, fallback in (("$top", default), ("$skip", 0)):
        raw = query.get(name)
        if raw is None:
            out.append(fallback)
            continue
        if not raw.isdigit():
            raise bad_request(f"Invalid value '{raw}' for {name}.", "BadRequest")
        out.append(int(raw))
    top = min(max(out[0], 1), MAX_TOP)
    return top, out[1]


def refuse_unsupported(query: Mapping[str, str], allowed: set[str]) -> None:
    for name in query:
        if name.startswith("$") and name not in allowed:
            raise not_implemented(f"The query option {name} here")
