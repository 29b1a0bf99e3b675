"""Every language of the join block and notes: the same keys and placeholders as English,
nothing left in English, and how a calendar's language tag picks a table."""

from __future__ import annotations

import re
import string

import pytest

from hybridcal.config import ConfigError, settings_from_mapping
from hybridcal.core.locales import LOCALES, SYSTEM_NAMES
from hybridcal.core.model import JoinInfo, PhoneNumber
from hybridcal.core.render import (
    NoteKind,
    choose_locale,
    match_locale,
    render_join_block,
    render_note,
)

ENGLISH = LOCALES["en"]
TRANSLATIONS = sorted(tag for tag in LOCALES if tag != "en")
# what the issue asks for, and what Webex Hybrid Calendar's users also have
REQUIRED = {"en", "de", "fr", "es", "it", "pt", "nl", "ja", "zh-CN", "ko"}
# words that are the same in every language: product names, protocols
NAMES = (*SYSTEM_NAMES.values(), "hybridcal", "Google", "SIP", "H.323", "PSTN")

# A value may equal the English one only when it holds nothing to translate (placeholders,
# product names, digits, punctuation: see _nothing_to_translate) or when it is listed here,
# per language, with the reason. Keep it short.
SAME_AS_ENGLISH: dict[str, dict[str, str]] = {
    # e.g. "it": {"passcode": "Zoom's Italian invitations print 'Passcode'"},
}


def _fields(template: str) -> list[tuple[str, str, str | None]]:
    """(name, format spec, conversion) of each placeholder, in order."""
    return [
        (name, spec or "", conversion)
        for _, name, spec, conversion in string.Formatter().parse(template)
        if name is not None
    ]


def _literal_text(template: str) -> list[str]:
    return [text for text, *_ in string.Formatter().parse(template) if text]


def _without_names(text: str) -> str:
    for name in NAMES:
        text = text.replace(name, " ")
    return text


def _nothing_to_translate(template: str) -> bool:
    words = _without_names(" ".join(_literal_text(template)))
    return not re.search(r"[^\W\d_]", words)


def _english_phrases(key: str) -> list[str]:
    """The English words of ``key`` that must not show in another language's rendering: each
    run of text between placeholders and product names, with its ends' punctuation trimmed."""
    phrases = []
    for text in _literal_text(ENGLISH[key]):
        for part in re.split("|".join(map(re.escape, NAMES)), text):
            phrase = part.strip(" .,:;()!?-")
            if re.search(r"[A-Za-z]{3}", phrase):
                phrases.append(phrase)
    return phrases


# -- the tables -------------------------------------------------------------------------------


def test_the_languages_asked_for_are_there() -> None:
    assert set(LOCALES) >= REQUIRED, f"missing: {sorted(REQUIRED - set(LOCALES))}"


@pytest.mark.parametrize("tag", TRANSLATIONS)
def test_each_language_has_exactly_the_english_keys(tag: str) -> None:
    table = LOCALES[tag]
    missing = [key for key in ENGLISH if key not in table]
    extra = [key for key in table if key not in ENGLISH]
    problems = [
        *(
            f"locale {tag!r} lacks key {key!r} (English: {ENGLISH[key]!r}): add it to the "
            f"{tag!r} table in src/hybridcal/core/locales.py"
            for key in missing
        ),
        *(
            f"locale {tag!r} has key {key!r}, which English does not have (renamed or removed?)"
            for key in extra
        ),
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("tag", TRANSLATIONS)
def test_each_translation_has_the_english_placeholders(tag: str) -> None:
    problems = []
    for key, english in ENGLISH.items():
        if key not in LOCALES[tag]:
            continue  # reported by the test above
        want, got = sorted(_fields(english)), sorted(_fields(LOCALES[tag][key]))
        if want != got:
            problems.append(f"locale {tag!r} key {key!r}: placeholders {got} instead of {want}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("tag", TRANSLATIONS)
def test_nothing_is_left_in_english(tag: str) -> None:
    allowed = SAME_AS_ENGLISH.get(tag, {})
    same = [
        key
        for key, english in ENGLISH.items()
        if LOCALES[tag].get(key) == english
        and key not in allowed
        and not _nothing_to_translate(english)
    ]
    assert not same, (
        f"locale {tag!r} has the English text for {same}: translate them, or list them in "
        f"SAME_AS_ENGLISH with the reason"
    )


def test_the_allow_list_is_still_needed() -> None:
    for tag, keys in SAME_AS_ENGLISH.items():
        for key, reason in keys.items():
            assert reason, f"{tag}/{key}: say why"
            assert LOCALES[tag].get(key) == ENGLISH.get(key), f"{tag}/{key} is translated now"


@pytest.mark.parametrize("tag", sorted(LOCALES))
def test_no_value_is_empty_or_padded(tag: str) -> None:
    bad = [k for k, v in LOCALES[tag].items() if not v.strip() or v != v.strip() or "\n" in v]
    assert not bad, f"locale {tag!r}: empty, padded or multi-line values for {bad}"


# -- rendering --------------------------------------------------------------------------------

FULL = JoinInfo(
    system="zoom",
    meeting_id="81234567890",
    join_url="https://acme.zoom.us/j/81234567890?pwd=abc",
    passcode="plan42",
    phones=(PhoneNumber("+1 555 010 0001", "US", "New York"), PhoneNumber("+49 30 5550100", "DE")),
    phone_passcode="445566",
    sip="81234567890.445566@zoomcrc.com",
)
WEBEX = JoinInfo(
    system="webex",
    meeting_id="25123456789",
    join_url="https://acme.webex.com/acme/j.php?MTID=m0123456789abcdef",
    passcode="Kx7pQ2",
    phones=(PhoneNumber("+1 555 010 0002", "US", "United States Toll"),),
    phone_passcode="59712",
    sip="25123456789@acme.webex.com",
    extra=(("meeting_number", "25123456789"), ("video_ip", "173.243.2.68")),
)
REASONS = sorted(key.removeprefix("reason.") for key in ENGLISH if key.startswith("reason."))


SAMPLES = {"keyword": "@zoom", "system": "zoom", "device": "Room 4.01 Board"}


def _renderings(tag: str) -> list[tuple[str, str]]:
    """(what, plain text) of every block and note we write, in ``tag``'s language; a note that
    gives a reason once with each reason we have."""
    out = [(f"join block {info.system}", render_join_block(info, tag)) for info in (FULL, WEBEX)]
    for kind in NoteKind:
        needed = {name for name, _, _ in _fields(ENGLISH[f"note.{kind.value}"])}
        params = {name: SAMPLES.get(name, "x1") for name in needed - {"reason"}}
        if "reason" in needed:
            out += [
                (f"note {kind.value}/{reason}", render_note(kind, tag, **params, reason_key=reason))
                for reason in REASONS
            ]
        else:
            out.append((f"note {kind.value}", render_note(kind, tag, **params)))
    return [(what, block.text) for what, block in out]


@pytest.mark.parametrize("tag", TRANSLATIONS)
def test_rendering_leaves_no_english(tag: str) -> None:
    allowed = SAME_AS_ENGLISH.get(tag, {})
    phrases = {
        phrase: key for key in ENGLISH if key not in allowed for phrase in _english_phrases(key)
    }
    problems = [
        f"{what} in {tag!r} shows English {phrase!r} (from key {key!r})"
        for what, text in _renderings(tag)
        for phrase, key in phrases.items()
        if re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("tag", sorted(LOCALES))
def test_rendering_uses_the_language(tag: str) -> None:
    words = LOCALES[tag]
    block = render_join_block(FULL, tag).text
    for key in ("meeting_id", "passcode", "one_tap", "by_phone", "phone_passcode", "video"):
        assert words[key] in block
    assert words["join"].format(system="Zoom") in block
    assert words["footer"] in block
    assert FULL.join_url in block
    assert FULL.sip is not None
    assert FULL.sip in block
    note = render_note(NoteKind.FAILED, tag, system="webex", reason_key="host_not_found").text
    assert words["reason.host_not_found"] in note
    assert "Webex" in note


def test_the_english_phrases_are_found() -> None:
    """The leftover check would catch an untranslated label in a rendering."""
    text = render_join_block(FULL, "en").text
    assert all(p in text for p in _english_phrases("one_tap"))
    assert _english_phrases("join") == ["Join", "meeting"]
    assert _english_phrases("footer") == ["Added by", "Please do not edit this section"]


# -- which language -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("FR_fr", "fr"),
        ("  it-IT ", "it"),
        ("de_DE.UTF-8", "de"),
        ("de_DE@euro", "de"),
        ("en-GB", "en"),
        ("es-419", "es"),
        ("pt-BR", "pt"),
        ("pt_PT", "pt"),
        ("nl-BE", "nl"),
        ("ja-JP", "ja"),
        ("ko-KR", "ko"),
        ("zh", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("zh-cn", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("zh-Hans-HK", "zh-CN"),  # the script wins over the region
        ("zh-TW", "zh-TW"),
        ("zh_tw", "zh-TW"),
        ("zh-Hant", "zh-TW"),
        ("zh-Hant-TW", "zh-TW"),
        ("zh-HK", "zh-TW"),
        ("zh-MO", "zh-TW"),
        ("no", "nb"),
        ("nb-NO", "nb"),
        ("nn-NO", "nb"),
        ("da-DK", "da"),
        ("sv-SE", "sv"),
        ("fi-FI", "fi"),
        ("pl-PL", "pl"),
        ("ru-RU", "ru"),
        ("tr-TR", None),
        ("iw", None),
        ("C", None),
        ("", None),
        (None, None),
    ],
)
def test_match_locale(tag: str | None, expected: str | None) -> None:
    assert match_locale(tag) == expected


# Google Calendar's settings.locale values (Calendar API reference, Settings); the ones without
# a table fall back to the organisation's default
GOOGLE_LOCALES = {
    **dict.fromkeys(
        ("in", "ca", "cs", "hr", "lv", "lt", "hu", "ro", "sk", "sl", "tr"),
        None,
    ),
    **dict.fromkeys(("vi", "el", "sr", "uk", "bg", "iw", "ar", "fa", "hi", "th", "tl"), None),
    "da": "da",
    "de": "de",
    "en_GB": "en",
    "en": "en",
    "es": "es",
    "es_419": "es",
    "fr": "fr",
    "it": "it",
    "nl": "nl",
    "no": "nb",
    "pl": "pl",
    "pt_BR": "pt",
    "pt_PT": "pt",
    "fi": "fi",
    "sv": "sv",
    "ru": "ru",
    "zh_TW": "zh-TW",
    "zh_CN": "zh-CN",
    "ja": "ja",
    "ko": "ko",
}


@pytest.mark.parametrize(("tag", "expected"), sorted(GOOGLE_LOCALES.items()))
def test_every_google_calendar_locale(tag: str, expected: str | None) -> None:
    assert match_locale(tag) == expected


@pytest.mark.parametrize("tag", sorted(LOCALES))
def test_a_chosen_locale_chooses_itself(tag: str) -> None:
    # the daemon chooses once per calendar and the renderer chooses again from the result
    assert match_locale(tag) == tag
    assert choose_locale(tag, "de") == tag


@pytest.mark.parametrize(
    ("calendar", "default", "force", "expected"),
    [
        ("fr-FR", "en", False, "fr"),
        ("tr-TR", "fr-CA", False, "fr"),  # unknown -> the organisation's default
        (None, "zh_TW", False, "zh-TW"),
        ("", "ko", False, "ko"),
        ("tr", "xx", False, "en"),  # an unknown default -> English
        ("fr", "de", True, "de"),  # the organisation's language for everyone
        ("fr", "xx", True, "en"),
    ],
)
def test_choose_locale_falls_back(
    calendar: str | None, default: str, force: bool, expected: str
) -> None:
    assert choose_locale(calendar, default, force_default=force) == expected


def test_the_default_language_must_have_a_table() -> None:
    public = {"daemon": {"public_url": "https://hybridcal.example.com"}}
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({**public, "render": {"default_locale": "tr-TR"}})
    problems = dict(caught.value.problems)
    assert problems["render.default_locale"].startswith("has no join-block language for 'tr-TR'")
    assert "zh-TW" in problems["render.default_locale"]
    settings = settings_from_mapping({**public, "render": {"default_locale": "zh_TW"}})
    assert settings.render.default_locale == "zh-TW"
    assert choose_locale("tr", settings.render.default_locale) == "zh-TW"
