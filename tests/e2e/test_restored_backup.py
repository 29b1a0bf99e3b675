"""The store restored from an older copy: the channels it holds are ones Google stopped since,
and Google delivers to a channel the restored store does not know. The first notification on
that channel makes the daemon stop it, open a channel of its own and sync the calendar — push
works again at once, not only after the hourly reconcile."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.e2e.harness import (
    ALICE,
    ROOM,
    Harness,
    conference_status,
    tomorrow_at,
    when,
)

from hybridcal.core.model import Channel, Provider, calendar_key


async def channels(h: Harness, address: str) -> list[Channel]:
    assert h.daemon.store is not None
    return await h.daemon.store.list_channels(calendar_key(Provider.GOOGLE, address))


def live(h: Harness, address: str) -> list[str]:
    return [c["id"] for c in h.sim.channels(address)]


def meet(title: str, hour: int) -> dict[str, Any]:
    return {
        "summary": title,
        "location": "@meet",
        "attendees": [{"email": ROOM}],
        **when(tomorrow_at(hour)),
    }


async def test_push_works_again_after_a_restore_without_a_reconcile(h: Harness) -> None:
    store_path = Path(h.settings.store.path)
    backup = h.workdir / "backup.db"
    with (
        closing(sqlite3.connect(store_path)) as source,
        closing(sqlite3.connect(backup)) as copy,
    ):
        source.backup(copy)
    [backed_up] = await channels(h, ALICE)

    # after the backup: the channels are renewed (Google stops the backed-up ones) and a
    # meeting is made
    jobs = h.daemon.jobs
    assert jobs is not None
    h.clock.advance(timedelta(days=6, hours=12))
    assert await jobs.renew() == 3
    h.clock.offset = timedelta(0)
    await h.settle()
    [renewed] = live(h, ALICE)
    assert renewed != backed_up.channel_id
    before = h.sim.person_insert(ALICE, meet("Before the restore", 9))["id"]
    await h.settle()
    assert conference_status(h.event(ALICE, before)) == "success"

    def put_back() -> None:
        shutil.copyfile(backup, store_path)
        for suffix in ("-wal", "-shm"):
            Path(f"{store_path}{suffix}").unlink(missing_ok=True)

    async def restore() -> None:
        await asyncio.to_thread(put_back)

    await h.restart(while_down=restore)
    h.daemon.stray_grace_s = 0.2
    await h.settle()
    # the restored store holds the dead channel; Google delivers to the one it does not know
    assert [c.channel_id for c in await channels(h, ALICE)] == [backed_up.channel_id]
    assert live(h, ALICE) == [renewed]
    assert len(h.patches(before)) == 1  # the meeting made after the backup was adopted

    lost = h.sim.person_insert(ALICE, meet("First after the restore", 10))["id"]
    await h.settle()
    await h.daemon.wait_channel_checks()
    await h.settle()
    assert conference_status(h.event(ALICE, lost)) == "success"
    [ours] = await channels(h, ALICE)
    assert ours.channel_id not in {backed_up.channel_id, renewed}
    assert live(h, ALICE) == [ours.channel_id]
    stopped = {r.body["id"] for r in h.requests("calendar.channels.stop")}
    assert {renewed, backed_up.channel_id} <= stopped

    # and the next change arrives through our new channel
    after = h.sim.person_insert(ALICE, meet("Second after the restore", 11))["id"]
    await h.settle()
    assert conference_status(h.event(ALICE, after)) == "success"
    titles = {m["title"] for m in await h.meetings()}
    assert {"Before the restore", "First after the restore", "Second after the restore"} <= titles
    assert h.sim.conferences_created() == 3
