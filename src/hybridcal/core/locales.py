"""Every string of the join block and of our notes, one table per language.

Placeholders: ``{system}`` (display name of a meeting system), ``{keyword}``, ``{reason}``.
A new language is one more table with the same keys (a unit test checks that they match).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

SYSTEM_NAMES: Final = MappingProxyType(
    {
        "zoom": "Zoom",
        "teams": "Microsoft Teams",
        "meet": "Google Meet",
        "webex": "Webex",
        "gotomeeting": "GoTo Meeting",
    }
)

_EN = {
    "join": "Join {system} meeting",
    "meeting_id": "Meeting ID",
    "passcode": "Passcode",
    "one_tap": "One tap mobile",
    "by_phone": "Join by phone",
    "phone_passcode": "Phone passcode",
    "video": "Join from a video system",
    "footer": "Added by hybridcal. Please do not edit this section.",
    "note.unavailable": "{keyword} is not available for this calendar (ask your administrator).",
    "note.retrying": "The {system} meeting could not be created yet; we will retry.",
    "note.failed": "The {system} meeting could not be created: {reason}",
    "note.series_only": (
        "{keyword} in a single occurrence is not supported; add it to the whole series."
    ),
    "note.limit_reached": (
        "{system} does not allow more meetings for this organiser today; we will retry later."
    ),
    "reason.host_not_found": "the organiser has no active account there (ask your administrator).",
    "reason.no_privilege": "hybridcal may not schedule for the organiser (ask your administrator).",
    "reason.refused": "the request was refused (your administrator can see why); we will retry.",
    "reason.conference_not_allowed": (
        "it is turned off for the organiser's account (ask your administrator); "
        "we will retry later."
    ),
    "reason.conference_failed": (
        "Google could not create it (your administrator can see why); we will retry later."
    ),
}

_DE = {
    "join": "{system}-Meeting beitreten",
    "meeting_id": "Meeting-ID",
    "passcode": "Kenncode",
    "one_tap": "Schnelleinwahl mobil",
    "by_phone": "Per Telefon teilnehmen",
    "phone_passcode": "Telefon-Kenncode",
    "video": "Über ein Videokonferenzsystem teilnehmen",
    "footer": "Von hybridcal eingefügt. Bitte diesen Abschnitt nicht bearbeiten.",
    "note.unavailable": (
        "{keyword} ist für diesen Kalender nicht verfügbar (wenden Sie sich an Ihre IT)."
    ),
    "note.retrying": (
        "Das {system}-Meeting konnte noch nicht erstellt werden; wir versuchen es erneut."
    ),
    "note.failed": "Das {system}-Meeting konnte nicht erstellt werden: {reason}",
    "note.series_only": (
        "{keyword} in einem einzelnen Termin einer Serie wird nicht unterstützt; "
        "bitte in der ganzen Serie eintragen."
    ),
    "note.limit_reached": (
        "{system} erlaubt heute keine weiteren Meetings für diese Person; "
        "wir versuchen es später erneut."
    ),
    "reason.host_not_found": (
        "die organisierende Person hat dort kein aktives Konto (wenden Sie sich an Ihre IT)."
    ),
    "reason.no_privilege": (
        "hybridcal darf nicht für die organisierende Person planen (wenden Sie sich an Ihre IT)."
    ),
    "reason.refused": (
        "die Anfrage wurde abgelehnt (Ihre IT sieht den Grund); wir versuchen es erneut."
    ),
    "reason.conference_not_allowed": (
        "es ist für das Konto der organisierenden Person ausgeschaltet (wenden Sie sich an "
        "Ihre IT); wir versuchen es später erneut."
    ),
    "reason.conference_failed": (
        "Google konnte es nicht erstellen (Ihre IT sieht den Grund); "
        "wir versuchen es später erneut."
    ),
}

_JA = {
    "join": "{system} ミーティングに参加する",
    "meeting_id": "ミーティング ID",
    "passcode": "パスコード",
    "one_tap": "ワンタップ モバイル",
    "by_phone": "電話で参加する",
    "phone_passcode": "電話用パスコード",
    "video": "ビデオ会議システムから参加する",
    "footer": "hybridcal が追加しました。このセクションは編集しないでください。",
    "note.unavailable": (
        "{keyword} はこのカレンダーでは利用できません (管理者にお問い合わせください)。"
    ),
    "note.retrying": "{system} ミーティングをまだ作成できませんでした。後で再試行します。",
    "note.failed": "{system} ミーティングを作成できませんでした: {reason}",
    "note.series_only": (
        "定期的な予定の 1 回分だけの {keyword} には対応していません。"
        "シリーズ全体に追加してください。"
    ),
    "note.limit_reached": (
        "{system} では本日この主催者のミーティングをこれ以上作成できません。後で再試行します。"
    ),
    "reason.host_not_found": (
        "主催者のアクティブなアカウントがありません (管理者にお問い合わせください)。"
    ),
    "reason.no_privilege": (
        "hybridcal は主催者の代わりにスケジュールできません (管理者にお問い合わせください)。"
    ),
    "reason.refused": "リクエストが拒否されました (管理者が理由を確認できます)。後で再試行します。",
    "reason.conference_not_allowed": (
        "主催者のアカウントでは無効になっています (管理者にお問い合わせください)。"
        "後で再試行します。"
    ),
    "reason.conference_failed": (
        "Google で作成できませんでした (管理者が理由を確認できます)。後で再試行します。"
    ),
}

LOCALES: Final = MappingProxyType(
    {"en": MappingProxyType(_EN), "de": MappingProxyType(_DE), "ja": MappingProxyType(_JA)}
)
