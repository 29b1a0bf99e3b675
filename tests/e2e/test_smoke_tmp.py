import time
from e2e_harness import ALICE, BOB, ROOM, Harness, tomorrow_at, when


async def test_smoke(h: Harness) -> None:
    t = time.perf_counter()
    ev = h.sim.person_insert(ALICE, {"summary": "x", "location": "@meet", "attendees": [{"email": BOB}, {"email": ROOM}], **when(tomorrow_at(10))})
    await h.settle()
    print("settle", time.perf_counter() - t)
    print(h.event(ALICE, ev["id"]))
    print(await h.meetings())
    print(len(h.patches()), h.sim.conferences_created())
    assert False
