"""Our join block in an event's description: rendered, found, replaced, removed.

The block sits between two ASCII marker lines so that it can be found again after a calendar
client turned the description into HTML, replaced in place, and never duplicated. Everything
outside the markers is the person's text and is kept character for character. The digest of a
block is taken over its normalised visible text, so the plain and HTML variants of one block,
and a block that Google Calendar re-wrapped in ``<br>``/``<span>``, all have the same digest.
"""

from __future__ import annotations

import hashlib
import html
import re
import string
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from hybridcal.core.html_text import html_to_text, looks_like_html
from hybridcal.core.locales import LOCALES, SYSTEM_NAMES

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hybridcal.core.model import JoinInfo

START_MARK = "~~~ hybridcal:begin ~~~"
END_MARK = "~~~ hybridcal:end ~~~"
# spaces may become &nbsp; in HTML; never a line break, and exactly our three tildes, so that a
# marker can never reach into the person's text around it
_GAP = r"(?:[ \t\xa0]|&nbsp;|&#160;|&#xa0;)*"
_START = re.compile(rf"~~~{_GAP}hybridcal:begin{_GAP}~~~", re.IGNORECASE)
_END = re.compile(rf"~~~{_GAP}hybridcal:end{_GAP}~~~", re.IGNORECASE)
_TEXT_SEPARATOR = "\n\n"
_HTML_SEPARATOR = "<br><br>"
_HTML_SEPARATOR_AT_END = re.compile(r"<br\s*/?><br\s*/?>$", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
# wrappers a calendar client may put around the marker lines; they belong to the block
_WRAPPERS = r"(?:span|p|div|font|b|i|u|strong|em)"
_OPENERS_WINDOW = 512  # characters before a start marker searched for our wrapper tags
_MAX_CLEANUPS = 8  # rounds of removing extra copies of our block (each round removes all found)
_OPENERS_AT_END = re.compile(rf"(?:<{_WRAPPERS}\b[^<>]*>)+$", re.IGNORECASE)
_CLOSERS_AT_START = re.compile(rf"(?:</{_WRAPPERS}\s*>)+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
DEFAULT_LOCALE = "en"
# the JoinInfo.extra entry holding the number people type to join (Webex's meeting number)
EXTRA_MEETING_NUMBER = "meeting_number"
# calendars' language codes that name a table under another code (see match_locale)
_LANGUAGE_ALIASES = {"no": "nb", "nn": "nb"}
_TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})  # Chinese written in traditional script


class NoteKind(StrEnum):
    UNAVAILABLE = "unavailable"  # the keyword maps to a system this calendar may not use
    RETRYING = "retrying"  # the meeting system failed for now; we retry
    FAILED = "failed"  # the meeting system refused for good (reason given)
    SERIES_ONLY = "series_only"  # keyword in one occurrence of a series
    LIMIT_REACHED = "limit_reached"  # the meeting system's daily limit for the organiser


@dataclass(frozen=True, slots=True)
class RenderedBlock:
    text: str  # for plain-text descriptions, markers included
    html: str  # for HTML descriptions, markers included
    digest: str  # of the normalised visible text: Marker.block_hash


@dataclass(frozen=True, slots=True)
class _Link:
    url: str


_Line = str | _Link


def choose_locale(calendar_locale: str | None, default: str, *, force_default: bool = False) -> str:
    """The table to render with: the calendar's language if we have it, else ``default``'s,
    else English. ``force_default`` uses ``default`` for everyone. See ``match_locale``."""
    fallback = match_locale(default) or DEFAULT_LOCALE
    if force_default:
        return fallback
    return match_locale(calendar_locale) or fallback


def match_locale(tag: str | None) -> str | None:
    """The table for a language tag as calendars report it, or None when we have none.

    Case, ``_`` or ``-``, and a POSIX tail (``.UTF-8``, ``@euro``) do not matter. The language
    decides (``de-CH`` -> ``de``, ``pt-BR`` and ``pt-PT`` -> ``pt``, ``en-GB`` -> ``en``), with
    these exceptions: Chinese picks its script, from the script subtag (``zh-Hant`` ->
    ``zh-TW``, ``zh-Hans`` -> ``zh-CN``) or else the region (``TW``, ``HK``, ``MO`` ->
    ``zh-TW``; any other or none -> ``zh-CN``); Norwegian ``no`` (Google's code) and ``nn``
    read ``nb``. A tag whose language has no table (``tr``, ``iw``, ``C``) gives None.
    """
    if not tag:
        return None
    subtags = re.split(r"[-_]", re.split(r"[.@]", tag.strip(), maxsplit=1)[0].lower())
    language = _LANGUAGE_ALIASES.get(subtags[0], subtags[0])
    if language == "zh":
        rest = set(subtags[1:])
        traditional = "hant" in rest or (bool(rest & _TRADITIONAL_REGIONS) and "hans" not in rest)
        language = "zh-TW" if traditional else "zh-CN"
    return language if language in LOCALES else None


def render_join_block(info: JoinInfo, locale: str) -> RenderedBlock:
    words = LOCALES[choose_locale(locale, DEFAULT_LOCALE)]
    if info.system == "webex":
        return _render(_webex_lines(info, words))
    lines: list[_Line] = [
        words["join"].format(system=_system_name(info.system)),
        _Link(info.join_url),
        f"{words['meeting_id']}: {_format_id(info.meeting_id)}",
    ]
    if info.passcode:
        lines.append(f"{words['passcode']}: {info.passcode}")
    if info.phones:
        digits = re.sub(r"\D", "", info.meeting_id)
        tail = f",,,,*{info.phone_passcode}#" if info.phone_passcode else ""
        lines += ["", words["one_tap"]]
        lines += [
            _phone(p.number.replace(" ", "") + f",,{digits}#{tail}", p) for p in info.phones[:2]
        ]
        lines += ["", words["by_phone"], *(_phone(p.number, p) for p in info.phones)]
        if info.phone_passcode:
            lines.append(f"{words['phone_passcode']}: {info.phone_passcode}")
    if info.sip:
        lines += ["", words["video"], info.sip]
    if info.extra:
        lines += ["", *(f"{label}: {value}" for label, value in info.extra)]
    lines += ["", words["footer"]]
    return _render(lines)


def _webex_lines(info: JoinInfo, words: Mapping[str, str]) -> list[_Line]:
    """Webex's block: the meeting number (not our API id), the password, call-in numbers with
    the numeric password, and the SIP address with that same numeric password, which is what
    a codec's keypad can type."""
    extra = dict(info.extra)
    number = extra.get(EXTRA_MEETING_NUMBER)
    lines: list[_Line] = [words["join"].format(system=_system_name(info.system))]
    lines.append(_Link(info.join_url))
    if number:
        lines.append(f"{words['meeting_id']}: {_format_webex_number(number)}")
    if info.passcode:
        lines.append(f"{words['passcode']}: {info.passcode}")
    if info.phones:
        lines += ["", words["by_phone"], *(_phone(p.number, p) for p in info.phones)]
        if info.phone_passcode:
            lines.append(f"{words['phone_passcode']}: {info.phone_passcode}")
    if info.sip:
        lines += ["", words["video"], info.sip]
        if info.phone_passcode:
            lines.append(f"{words['video_passcode']}: {info.phone_passcode}")
    return [*lines, "", words["footer"]]


def _format_webex_number(number: str) -> str:
    """Webex prints its meeting numbers in groups of 4, 3 and the rest: 2551 234 5678."""
    if not number.isdigit() or len(number) < 9:
        return number
    return f"{number[:4]} {number[4:7]} {number[7:]}"


def render_note(message: NoteKind, locale: str, **params: str) -> RenderedBlock:
    """A short visible note in place of a join block ("@zoom is not available ...")."""
    words = LOCALES[choose_locale(locale, DEFAULT_LOCALE)]
    if "reason_key" in params:  # a reason from the table, in the note's language
        params = {**params, "reason": words[f"reason.{params['reason_key']}"]}
    template = words[f"note.{NoteKind(message).value}"]
    needed = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    missing = needed - params.keys()
    if missing:
        raise ValueError(f"note {message.value!r} needs {', '.join(sorted(missing))}")
    values = {k: _system_name(v) if k == "system" else v for k, v in params.items()}
    return _render([template.format(**{k: values[k] for k in needed}), "", words["footer"]])


def replace_block(description: str, block: RenderedBlock | None) -> str:
    """``description`` with our block replaced by ``block`` (appended when absent; removed when
    ``block`` is None). Extra copies of our block are removed; nothing else changes."""
    spans = _find_blocks(description)
    if not spans:
        return description if block is None else _insert(description, block)
    result = description
    for _round in range(_MAX_CLEANUPS):  # removing a copy may pair up stray markers around it
        if len(spans) <= 1:
            break
        result = _remove_all(result, spans[1:])
        spans = _find_blocks(result)
    start, _, _, end = spans[0]
    if block is None:
        return _remove(result, start, end)
    as_html = looks_like_html(result[:start] + result[end:])  # decided by the person's text
    return result[:start] + (block.html if as_html else block.text) + result[end:]


def extract_block(description: str) -> str | None:
    """The visible text of our block in ``description`` (normalised), or None."""
    spans = _find_blocks(description)
    if not spans:
        return None
    _, inner_start, inner_end, _ = spans[0]
    return _normalise(description[inner_start:inner_end])


def block_digest_of(description: str) -> str | None:
    """The digest of the block in ``description``, comparable with ``RenderedBlock.digest``."""
    text = extract_block(description)
    return None if text is None else _digest(text)


# -- internals --------------------------------------------------------------------------------


def _system_name(system: str) -> str:
    return SYSTEM_NAMES.get(system.lower(), system)


def _format_id(meeting_id: str) -> str:
    """Group a numeric ID the way invitations print it: 939 688 0476."""
    if not meeting_id.isdigit() or len(meeting_id) < 9:
        return meeting_id
    head, rest = meeting_id[:3], meeting_id[3:]
    middle = len(rest) - 4
    return f"{head} {rest[:middle]} {rest[middle:]}"


def _phone(text: str, phone: object) -> str:
    label = getattr(phone, "label", None) or getattr(phone, "country", None)
    return f"{text} ({label})" if label else text


def _clean(value: str) -> str:
    value = _CONTROL.sub(" ", value)
    if looks_like_html(value):
        # never render something that reads as markup in the plain variant: the digest of the
        # plain and the HTML variant must agree
        value = value.replace("<", "\u2039").replace(">", "\u203a")
    return value


def _render(lines: list[_Line]) -> RenderedBlock:
    plain = [_clean(line.url if isinstance(line, _Link) else line) for line in lines]
    if looks_like_html("\n".join(plain)):
        plain = [line.replace("<", "\u2039").replace(">", "\u203a") for line in plain]
    marked = [
        f'<a href="{html.escape(text, quote=True)}">{html.escape(text)}</a>'
        if isinstance(line, _Link)
        else html.escape(text, quote=False)
        for line, text in zip(lines, plain, strict=True)
    ]
    text = "\n".join([START_MARK, *plain, END_MARK])
    markup = "<br>".join([START_MARK, *marked, END_MARK])
    return RenderedBlock(text=text, html=markup, digest=_digest(_normalise("\n".join(plain))))


def _normalise(inner: str) -> str:
    if looks_like_html(inner):
        inner = html_to_text(inner).text
    lines = (" ".join(line.split()) for line in inner.split("\n"))
    return "\n".join(line for line in lines if line)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _find_blocks(description: str) -> list[tuple[int, int, int, int]]:
    """(start, inner start, inner end, end) of each complete block: the last start marker
    before each end marker, so that a stray marker in the person's text is left alone.

    One pass over the markers (a description may hold thousands of pasted ones), and the
    wrappers we put around a block are looked for only just before its start marker."""
    starts = list(_START.finditer(description))
    blocks: list[tuple[int, int, int, int]] = []
    floor = 0
    index = 0
    last: re.Match[str] | None = None
    for end in _END.finditer(description):
        while index < len(starts) and starts[index].end() <= end.start():
            if starts[index].start() >= floor:
                last = starts[index]
            index += 1
        if last is None:
            continue
        start, last = last, None
        lo = max(floor, start.start() - _OPENERS_WINDOW)
        openers = _OPENERS_AT_END.search(description, lo, start.start())
        closers = _CLOSERS_AT_START.match(description, end.end())
        blocks.append(
            (
                openers.start() if openers else start.start(),
                start.end(),
                end.start(),
                closers.end() if closers else end.end(),
            )
        )
        floor = blocks[-1][3]
    return blocks


def _insert(description: str, block: RenderedBlock) -> str:
    if looks_like_html(description):
        body_end = None
        for body_end in _BODY_END.finditer(description):  # noqa: B007 - the last one
            pass
        at = body_end.start() if body_end else len(description)
        separator = _HTML_SEPARATOR if description[:at] else ""
        return description[:at] + separator + block.html + description[at:]
    separator = _TEXT_SEPARATOR if description else ""
    return description + separator + block.text


def _remove_all(description: str, spans: list[tuple[int, int, int, int]]) -> str:
    """Cut every span (in order, disjoint) with the separator before each, in one pass."""
    kept: list[str] = []
    at = 0
    for start, _inner_start, _inner_end, end in spans:
        kept.append(_strip_separator(description[at:start]))
        at = end
    kept.append(description[at:])
    return "".join(kept)


def _strip_separator(before: str) -> str:
    if before.endswith(_TEXT_SEPARATOR):
        return before[: -len(_TEXT_SEPARATOR)]
    return _HTML_SEPARATOR_AT_END.sub("", before)


def _remove(description: str, start: int, end: int) -> str:
    """Cut the block and the one separator we put before it."""
    return _strip_separator(description[:start]) + description[end:]
