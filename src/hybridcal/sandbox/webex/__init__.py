"""A strict local Webex simulator: Service App tokens and the Meetings API (``/v1``).

Usage::

    sim = WebexSimulator(now=clock)        # clock: () -> aware datetime (default: real UTC)
    await sim.start()                      # http://127.0.0.1:<free port>
    sim.add_user("alice@example.com")      # licensed host with a personal room
    sim.add_user("bob@example.com", licensed=False)
    client_id, client_secret, access, refresh = sim.issue_service_app_tokens()
    ...                                    # the client calls sim.api_root / sim.token_url
    sim.revoke()                           # the admin removes the authorisation
    await sim.close()

Constructor (keyword-only): ``faults`` (:class:`~hybridcal.sandbox.faults.Faults`), ``now``,
``site_url`` (``sandbox.webex.com``), ``org_id``, ``scopes`` (the Service App's; default the
three admin meeting scopes and ``spark:kms``), ``seed``, ``per_minute`` (300),
``creates_per_host`` (800), ``creates_overall`` (3000).

Attributes and methods:

- ``start(host="127.0.0.1", port=0)``, ``close()``, ``drain()`` (no background work: returns).
- ``base_url``, ``api_root`` (``<base>/v1``), ``token_url`` (``<base>/v1/access_token``),
  ``oauth_root`` (= ``api_root``).
- ``client_id``, ``client_secret``, ``scopes``; ``issue_service_app_tokens() -> (client_id,
  client_secret, access_token, refresh_token)``; ``revoke()``; ``expire_access_tokens()``;
  ``access_token_lifetime`` (seconds, settable; default 14 days); ``tokens_issued``.
- ``add_user(email, *, licensed=True, timezone="Europe/Zurich", personal_room=True,
  display_name=None) -> dict``; ``set_licensed(email, *, licensed)``; ``users()``;
  ``site`` (``site_url``); ``set_password_rules(min_length=, require_letter=, require_digit=,
  require_mixed_case=, require_special=)``; ``set_call_in_numbers([{label, callInNumber,
  tollType}])``; ``set_in_progress(meeting_id, *, in_progress=True)``.
- Limits: ``per_minute`` (settable; ``<= 0`` off), ``rate_clock`` (monotonic, settable),
  ``throttle_html`` (429 bodies as HTML, default True), ``creates_today(email)``; ``faults``
  (``error_rate`` → 502/503/504, ``throttle_rate`` → 429 with ``Retry-After``
  = ``throttle_retry_after_s`` or 60, ``latency_s``).
- Inspection: ``meetings(host_email=None, *, include_deleted=False)`` (each series as GET
  shows it, plus ``occurrences`` and ``deleted``), ``meeting(id)``, ``request_log``
  (:class:`WebexRecord`), ``calls(method=None, path_prefix=None)``, ``operations()`` (a
  Counter by operation: ``token.refresh``, ``meetings.create|get|list|update|patch|delete``,
  ``preferences.personalMeetingRoom|sites``); ``before_request`` / ``after_request`` hooks
  (raise :class:`DropRequest` / :class:`DropResponse`).

What is modelled and what is simplified is described in each module and in
``docs/webex-simulator.md``.
"""

from hybridcal.sandbox.faults import DropRequest, DropResponse
from hybridcal.sandbox.webex.app import WebexSimulator
from hybridcal.sandbox.webex.auth import (
    ADMIN_SCOPES,
    PREFERENCES_READ,
    SCHEDULE_READ,
    SCHEDULE_WRITE,
)
from hybridcal.sandbox.webex.http import RequestInfo, WebexRecord

__all__ = [
    "ADMIN_SCOPES",
    "PREFERENCES_READ",
    "SCHEDULE_READ",
    "SCHEDULE_WRITE",
    "DropRequest",
    "DropResponse",
    "RequestInfo",
    "WebexRecord",
    "WebexSimulator",
]
