"""The Google and Graph webhooks on hostile requests: every answer is 2xx or 4xx, never 5xx,
within a hard bound per request, and nothing but a known channel with the right secret enqueues.

Requests go through a real loopback server with the HTTP guard in front, as in the daemon.
Bodies mix envelope-shaped JSON with wrong types, deep nesting, huge numbers, invalid UTF-8 and
arbitrary bytes; headers carry arbitrary (header-legal) text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz._served import served
from tests.fuzz.fuzz_settings import fuzz

from hybridcal.core.model import Channel
from hybridcal.daemon.graph_webhook import GraphWebhook, _parse
from hybridcal.daemon.webhooks import GoogleWebhook
from hybridcal.store.base import Store

NOW = datetime(2030, 3, 4, 9, tzinfo=UTC)
SUB = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
SECRET = "fuzz-client-state-0123456789"
GOOGLE = Channel("hc-1", "google:alice@example.com", "tok-0123", "res-1", NOW + timedelta(7), NOW)
GRAPH = Channel(SUB, "microsoft:alice@example.com", SECRET, "users/a/events", NOW, NOW)
MAX_BODY = 16384


class FakeStore:
    def __init__(self, *channels: Channel) -> None:
        self.channels = {c.channel_id: c for c in channels}

    async def get_channel(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)


class Sink:
    def __init__(self) -> None:
        self.enqueued: list[str] = []

    def webhook(self, provider: str, outcome: str, count: int = 1) -> None:
        pass

    async def nothing(self, *_args: str) -> None:
        pass


# -- strategies -------------------------------------------------------------------------------

# header values aiohttp's client will send: no control characters
HEADER_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029"),
    max_size=600,
)
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=50),
    st.sampled_from([SUB, SECRET, "reauthorizationRequired", "missed", "subscriptionRemoved"]),
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.sampled_from(
                ["value", "subscriptionId", "clientState", "lifecycleEvent", "resourceData", "id"]
            )
            | st.text(max_size=10),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=30,
)
ITEM = st.fixed_dictionaries(
    {},
    optional={
        "subscriptionId": st.one_of(st.just(SUB), JSON_LEAF, st.text(min_size=250, max_size=300)),
        "clientState": st.one_of(st.just(SECRET), JSON_LEAF),
        "lifecycleEvent": JSON_LEAF,
        "resourceData": st.one_of(JSON, st.fixed_dictionaries({"id": JSON_LEAF})),
    },
)
ENVELOPE = st.one_of(
    st.builds(lambda items: {"value": items}, st.lists(ITEM, max_size=20)),
    JSON,
)
DEEP = st.integers(min_value=100, max_value=MAX_BODY // 2 - 20).map(
    lambda n: b'{"value": ' + b"[" * n + b"]" * n + b"}"
)
BODIES = st.one_of(
    ENVELOPE.map(lambda v: json.dumps(v).encode()),
    DEEP,
    st.binary(max_size=400),
    st.sampled_from(
        [b'{"value": [' + b"9" * 5000 + b"]}", b'{"value": [1e99999]}', b"\xff\xfe{", b""]
    ),
)


# -- Graph ------------------------------------------------------------------------------------


@fuzz
@given(body=BODIES)
def test_graph_envelope_parser_never_raises(body: bytes) -> None:
    items = _parse(body)
    assert items is None or isinstance(items, list)


def test_graph_webhook_answers_every_request_with_2xx_or_4xx() -> None:
    sink = Sink()
    hook = GraphWebhook(
        store=cast("Store", FakeStore(GRAPH)),
        enqueue=sink.enqueued.append,
        metrics=sink,
        max_body=MAX_BODY,
        renew=sink.nothing,
        recreate=sink.nothing,
        resync=sink.nothing,
    )

    async def build(app: Any) -> None:
        app.router.add_post("/webhooks/microsoft", hook.handle)
        app.router.add_post("/webhooks/microsoft/lifecycle", hook.handle_lifecycle)

    with served(build, max_body=MAX_BODY) as server:

        @fuzz
        @given(
            body=BODIES,
            lifecycle=st.booleans(),
            content_type=st.sampled_from(["application/json", "text/plain", "", "\u00e9"]),
            token=st.one_of(st.none(), HEADER_TEXT),
        )
        def check(body: bytes, lifecycle: bool, content_type: str, token: str | None) -> None:
            sink.enqueued.clear()
            path = "/webhooks/microsoft" + ("/lifecycle" if lifecycle else "")
            params = [("validationToken", token)] if token is not None else []
            headers = {"Content-Type": content_type} if content_type else {}
            status = server.request("POST", path, params=params, headers=headers, body=body)
            assert 200 <= status < 500, status
            if status >= 400 or token is not None:
                assert sink.enqueued == []

        check()
        server.run(hook.stop)


# -- Google -----------------------------------------------------------------------------------

GOOGLE_HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "X-Goog-Channel-ID": st.one_of(st.just("hc-1"), HEADER_TEXT),
        "X-Goog-Channel-Token": st.one_of(st.just("tok-0123"), HEADER_TEXT),
        "X-Goog-Resource-ID": st.one_of(st.just("res-1"), HEADER_TEXT),
        "X-Goog-Resource-State": st.one_of(st.sampled_from(["sync", "exists"]), HEADER_TEXT),
        "X-Goog-Resource-URI": st.one_of(
            st.just("https://www.googleapis.com/calendar/v3/calendars/a%40b.c/events"),
            HEADER_TEXT,
        ),
    },
)


def test_google_webhook_answers_every_request_with_2xx_or_4xx() -> None:
    sink = Sink()
    hook = GoogleWebhook(
        store=cast("Store", FakeStore(GOOGLE)),
        enqueue=sink.enqueued.append,
        stop_unknown=sink.nothing,
        metrics=sink,
        max_body=1024,
    )

    async def build(app: Any) -> None:
        app.router.add_post("/webhooks/google", hook.handle)

    with served(build, max_body=1024) as server:

        @fuzz
        @given(headers=GOOGLE_HEADERS, body=st.binary(max_size=2048))
        def check(headers: dict[str, str], body: bytes) -> None:
            sink.enqueued.clear()
            status = server.request("POST", "/webhooks/google", headers=headers, body=body)
            assert 200 <= status < 500, status
            genuine = (
                headers.get("X-Goog-Channel-ID") == "hc-1"
                and headers.get("X-Goog-Channel-Token") == "tok-0123"
                and headers.get("X-Goog-Resource-ID") == "res-1"
            )
            if not genuine:
                assert sink.enqueued == []

        check()
