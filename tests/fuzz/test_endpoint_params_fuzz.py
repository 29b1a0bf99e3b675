"""The endpoint API on hostile query strings and headers: every answer is 200, 304 or 4xx,
never 5xx, within a hard bound per request.

Parameters mix near-valid ISO date-times (years 1 and 9999, offsets up to ±23:59, non-ASCII
digits, NaN) and lead times (superscripts, signs, huge numbers) with arbitrary text, repeated
names and unknown ones; the Authorization header is usually a valid device token (so the
parameters are parsed) and otherwise arbitrary.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz._served import served
from tests.fuzz.fuzz_settings import fuzz

from hybridcal.core.model import CalendarKind, CalendarRecord, CalendarState, Provider
from hybridcal.crypto import Keyring, RecordCipher
from hybridcal.daemon.devices import issue_device
from hybridcal.daemon.endpoint_api import MEETINGS_PATH, EndpointApi, add_endpoint_routes
from hybridcal.daemon.metrics import Metrics
from hybridcal.store.sqlite import SQLiteStore

NOW = datetime(2025, 3, 10, 9, 20, tzinfo=UTC)
ROOM = "google:room-1@example.com"

DIGITS = st.sampled_from(["0", "5", "120", "9999", "\u00b2", "\u0661", "\uff15", "-1", "+5"])
EDGE_INSTANTS = st.sampled_from(
    [
        "9999-12-31T23:59:59-23:59",  # past datetime.max once in UTC
        "0001-01-01T00:00:00+14:00",  # before datetime.min once in UTC
        "9999-12-31T23:59:59.999999Z",
        "8999-12-31T23:00:00Z",
        "1970-01-01T00:00:00+00:01",
        "2025-03-10T08:00:00.123456789Z",
    ]
)
BUILT_INSTANTS = st.builds(
    lambda y, mo, d, h, off: f"{y}-{mo}-{d}T{h}:00:00{off}",
    st.sampled_from(["2025", "2025", "0001", "1969", "9999", "\u0662\u0660\u0662\u0665", "99999"]),
    st.sampled_from(["01", "03", "12", "13", "00"]),
    st.sampled_from(["01", "10", "31", "32"]),
    st.sampled_from(["00", "09", "23", "24"]),
    st.sampled_from(["Z", "+00:00", "-23:59", "+14:00", " 01:00", "+99:00", "", "z", "+0100"]),
)
INSTANT = st.one_of(EDGE_INSTANTS, BUILT_INSTANTS)
VALUE = st.one_of(
    INSTANT,
    DIGITS,
    st.integers().map(str),
    st.floats().map(str),
    st.text(max_size=60),
    st.text(alphabet="0123456789-:+TZ. ", max_size=40),
)
FREE = st.lists(
    st.tuples(st.sampled_from(["from", "to", "lead"]) | st.text(max_size=8), VALUE),
    max_size=5,
)
# each parser reached on its own (others absent or valid), then everything mixed
LEAD = st.one_of(DIGITS, VALUE).map(lambda v: [("lead", v)])
WINDOW = st.fixed_dictionaries(
    {},
    optional={
        "from": st.one_of(st.just("2025-03-10T08:00:00Z"), INSTANT, VALUE),
        "to": st.one_of(st.just("2025-03-11T08:00:00+01:00"), INSTANT, VALUE),
    },
).map(lambda d: list(d.items()))
PARAMS = st.one_of(LEAD, WINDOW, FREE)
HEADER_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029"),
    max_size=300,
)


def test_endpoint_answers_every_query_with_2xx_3xx_or_4xx() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stores: list[SQLiteStore] = []
        issued = issue_device(ROOM, "panel", now=NOW)

        async def build(app: Any) -> None:
            store = await SQLiteStore.open(Path(tmp) / "s.db", RecordCipher(Keyring.generate()))
            stores.append(store)
            await store.add_calendar(
                CalendarRecord(
                    key=ROOM,
                    provider=Provider.GOOGLE,
                    address="room-1@example.com",
                    kind=CalendarKind.ROOM,
                    state=CalendarState.ACTIVE,
                )
            )
            await store.add_device(issued.device)
            api = EndpointApi(
                store,
                Metrics(process_metrics=False),
                now=lambda: NOW,
                obtp_lead_minutes=5,
                hide_tentative=False,
                hide_private_titles=True,
                max_window_days=31,
            )
            add_endpoint_routes(app, api)

        with served(build, max_body=1024) as server:
            valid = f"Bearer {issued.token}"

            @fuzz
            @given(
                params=PARAMS,
                authorization=st.one_of(st.just(valid), st.just(valid), HEADER_TEXT),
                if_none_match=st.one_of(st.none(), HEADER_TEXT),
            )
            def check(
                params: list[tuple[str, str]], authorization: str, if_none_match: str | None
            ) -> None:
                headers = {"Authorization": authorization}
                if if_none_match is not None:
                    headers["If-None-Match"] = if_none_match
                status = server.request("GET", MEETINGS_PATH, params=params, headers=headers)
                assert status in {200, 304} or 400 <= status < 500, status
                if authorization != valid:
                    assert status == 401

            check()
            server.run(stores[0].close)
