"""Incremental sync that recovers on its own: expired cursors, restarts, odd provider data."""

from __future__ import annotations

from tests.e2e.harness import (
    ALICE,
    BOB,
    ROOM,
    Harness,
    conference_status,
    marker_of,
    tomorrow_at,
    video_link,
    when,
)

from hybridcal.core.model import CalendarState


def _meet(summary: str, hour: int) -> dict[str, object]:
    return {
        "summary": summary,
        "location": "@meet",
        "attendees": [{"email": ROOM}],
        **when(tomorrow_at(hour)),
    }


async def test_expired_sync_token_recovers_with_a_full_listing(h: Harness) -> None:
    first = h.sim.person_insert(ALICE, _meet("Standup", 9))["id"]
    await h.settle()
    assert (len(h.patches()), h.sim.conferences_created()) == (1, 1)
    seen = len(h.lists(ALICE))

    h.sim.expire_sync_tokens(ALICE)
    second = h.sim.person_insert(ALICE, _meet("Planning", 11))["id"]
    await h.settle()

    recovery = h.lists(ALICE)[seen:]
    assert recovery[0].status == 410
    assert "syncToken" in recovery[0].query
    assert recovery[1].status == 200
    assert "syncToken" not in recovery[1].query  # the full window listing
    assert all(r.status == 200 for r in recovery[1:])

    # the first event came back in the full listing and was left alone; the second got its own
    assert h.sim.conferences_created() == 2
    assert [p.path.rsplit("/", 1)[1] for p in h.patches()] == [first, second]
    meetings = {m["id"]: m for m in await h.meetings()}
    assert set(meetings) == {first, second}
    for event_id, meeting in meetings.items():
        assert meeting["join"]["url"] == video_link(h.event(ALICE, event_id))

    # and the new cursor works: the next change is incremental again
    h.sim.person_patch(ALICE, second, {"description": "agenda"})
    await h.settle()
    last = h.lists(ALICE)[-1]
    assert (last.status, "syncToken" in last.query) == (200, True)


async def test_restart_resumes_from_the_stored_cursor(h: Harness) -> None:
    first = h.sim.person_insert(ALICE, _meet("Standup", 9))["id"]
    await h.settle()
    mark = len(h.sim.request_log)

    await h.restart()
    await h.settle()
    second = h.sim.person_insert(ALICE, _meet("Planning", 11))["id"]
    await h.settle()

    after = [r for r in h.sim.request_log[mark:] if r.method_id == "calendar.events.list"]
    assert after, "no sync after the restart"
    assert all("syncToken" in r.query for r in after), [r.query for r in after]
    assert not [r for r in h.sim.request_log[mark:] if r.method_id == "calendar.events.watch"]
    assert h.sim.conferences_created() == 2
    assert [p.path.rsplit("/", 1)[1] for p in h.patches()] == [first, second]
    assert {m["id"] for m in await h.meetings()} == {first, second}


async def test_changes_made_while_the_daemon_was_down_are_caught_on_start(h: Harness) -> None:
    mark = len(h.sim.request_log)
    made: list[str] = []

    async def person_types_meet_while_down() -> None:
        failed = h.sim.notifications_failed
        made.append(h.sim.person_insert(ALICE, _meet("While down", 9))["id"])
        await h.sim.drain()  # Google gives up on the notification: nobody is listening
        assert h.sim.notifications_failed > failed

    await h.restart(while_down=person_types_meet_while_down)
    await h.settle()

    lists = [r for r in h.sim.request_log[mark:] if r.method_id == "calendar.events.list"]
    assert lists
    assert all("syncToken" in r.query for r in lists)  # caught up incrementally, not in full
    event = h.event(ALICE, made[0])
    assert conference_status(event) == "success"
    assert h.sim.conferences_created() == 1
    assert [m["id"] for m in await h.meetings()] == made


async def test_malformed_event_does_not_stop_the_batch(h: Harness) -> None:
    # both changes arrive in one listing: notifications are withheld until both exist
    h.sim.faults.drop_notification_rate = 1.0
    odd = h.sim.person_insert(
        ALICE,
        {
            "summary": "Imported by a third-party app",
            # an entry point without its type: Google's schema has no required fields, our
            # reader needs the type to know what the link is
            "conferenceData": {"entryPoints": [{"uri": "https://example.net/odd"}]},
            "attendees": [{"email": BOB}],
            **when(tomorrow_at(8)),
        },
    )["id"]
    good = h.sim.person_insert(ALICE, _meet("Good one", 9))["id"]
    h.sim.faults.drop_notification_rate = 0.0
    mark = len(h.lists(ALICE))
    await h.reconcile()

    [listing, *_] = h.lists(ALICE)[mark:]
    assert listing.status == 200
    assert h.daemon.queue is not None
    assert h.daemon.queue.failed == 0
    assert h.sim.conferences_created() == 1
    assert conference_status(h.event(ALICE, good)) == "success"
    assert marker_of(h.event(ALICE, odd)) == {}
    assert [p.path.rsplit("/", 1)[1] for p in h.patches()] == [good]
    assert [m["id"] for m in await h.meetings()] == [good]
    calendar = await h.calendar(ALICE)
    assert calendar.state is CalendarState.ACTIVE

    # the cursor moved past the odd event: the next round is incremental and quiet
    before = len(h.lists(ALICE))
    await h.reconcile()
    [again] = h.lists(ALICE)[before:]
    assert "syncToken" in again.query
    assert len(h.patches()) == 1
