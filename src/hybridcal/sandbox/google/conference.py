"""Google Meet conferences attached through ``conferenceData.createRequest``.

With ``conferenceDataVersion=1`` a create request is answered with
``createRequest.status.statusCode = "pending"``; a moment later the conference exists
(``success``) with its id, entry points and ``hangoutLink`` — a change of the event like any
other. A ``requestId`` already used on the event is ignored (Google: "if an ID provided is the
same as for the previous request, the request is ignored"); a new one makes a new conference.
With version 0 (the default) conference data in the body is ignored.

Not every request succeeds: an organisation without Meet for the organiser refuses it (400),
or the request ends in ``failure`` — no entry points, no ``hangoutLink`` (see ``limits.py``).
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from typing import Any

from hybridcal.sandbox.google.errors import ApiError, bad_request, required

SOLUTIONS = {"hangoutsMeet": "Google Meet"}


def merge(old: Any, new: Any) -> Any:
    """Google's patch semantics: objects merge key by key, ``null`` deletes, the rest replaces."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = dict(old)
        for key, value in new.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(out.get(key), value)
        return out
    return new


def resolve(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, seen: set[str]
) -> tuple[dict[str, Any] | None, str | None]:
    """(conference data to store, request id to fulfil) for a write with version 1."""
    if new is None:
        return None, None
    request = new.get("createRequest")
    if not request:
        return dict(new), None
    request_id = request.get("requestId")
    if not request_id:
        raise required("conferenceData.createRequest.requestId")
    kind = (request.get("conferenceSolutionKey") or {}).get("type")
    if kind not in SOLUTIONS:
        raise bad_request("Invalid conference type value.", parameter="conferenceData")
    if request_id in seen:
        return (dict(old) if old else None), None
    pending = {
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": kind},
            "status": {"statusCode": "pending"},
        }
    }
    return pending, request_id


def meet(request_id: str, rng: random.Random) -> dict[str, Any]:
    """A created Meet: ``abc-defg-hij`` code, video, phone (with PIN) and 'more' entry points."""
    letters = string.ascii_lowercase
    code = "-".join("".join(rng.choice(letters) for _ in range(n)) for n in (3, 4, 3))
    number = f"+1 {rng.randint(200, 989)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
    pin = str(rng.randint(100_000_000, 999_999_999))
    return {
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
            "status": {"statusCode": "success"},
        },
        "entryPoints": [
            {
                "entryPointType": "video",
                "uri": f"https://meet.google.com/{code}",
                "label": f"meet.google.com/{code}",
            },
            {
                "entryPointType": "phone",
                "uri": "tel:" + number.replace(" ", "-"),
                "label": number,
                "pin": pin,
                "regionCode": "US",
            },
            {"entryPointType": "more", "uri": f"https://tel.meet/{code}?pin={pin}", "pin": pin},
        ],
        "conferenceSolution": {
            "key": {"type": "hangoutsMeet"},
            "name": "Google Meet",
            "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
        },
        "conferenceId": code,
    }


def failed(request_id: str) -> dict[str, Any]:
    """A create request that ended in ``failure``: no conference id, no entry points."""
    return {
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
            "status": {"statusCode": "failure"},
        },
    }


def refused() -> ApiError:
    """What Google answers a create request where Meet is not allowed for the calendar."""
    return bad_request("Invalid conference type value.", parameter="conferenceData")


def hangout_link(data: Mapping[str, Any] | None) -> str | None:
    if not data:
        return None
    for point in data.get("entryPoints") or []:
        if point.get("entryPointType") == "video" and "meet.google.com" in str(point.get("uri")):
            return str(point["uri"])
    return None
