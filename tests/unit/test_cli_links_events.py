"""`hybridcal links` answers per event for calendars that hold several events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hybridcal.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "invitations"


def _lines(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(main, ["links", *args])
    return result.exit_code, [json.loads(ln) for ln in result.stdout.splitlines()], result.stderr


def test_one_line_per_event_of_a_multi_event_calendar() -> None:
    path = FIXTURES / "series_with_exceptions.ics"
    code, lines, _ = _lines(str(path))
    assert code == 0
    assert [(ln["event"], ln["cancelled"], len(ln["links"])) for ln in lines] == [
        (
            {
                "uid": "fixture-series-1@example.com",
                "summary": "Weekly ops",
                "start": "20260105T090000",
                "tzid": "Europe/Berlin",
            },
            False,
            1,
        ),
        (
            {
                "uid": "fixture-series-1@example.com",
                "summary": "Weekly ops",
                "start": "20260112T090000",
                "tzid": "Europe/Berlin",
                "recurrence_id": "20260112T090000",
            },
            True,
            0,
        ),
        (
            {
                "uid": "fixture-offsite-2@example.com",
                "summary": "Offsite prep",
                "start": "20260115T130000Z",
            },
            False,
            1,
        ),
    ]
    assert all(ln["file"] == str(path) and ln["kind"] == "ics" for ln in lines)
    zoom = lines[0]["links"][0]
    assert zoom["passcode"] == "902214"
    assert zoom["dial"] == "85512340000.902214@zoomcrc.com"


def test_single_event_files_keep_one_line_and_errors_still_name_the_file(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "missing.ics"
    code, lines, stderr = _lines(
        str(FIXTURES / "meet_invitation.ics"), str(missing), str(FIXTURES / "zoom_app_links.txt")
    )
    assert code == 1
    assert f"Error: {missing}: No such file or directory" in stderr
    assert [(ln["kind"], "event" in ln) for ln in lines] == [("ics", False), ("text", False)]
