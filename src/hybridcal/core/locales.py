"""Every string of the join block and of our notes, one table per language.

Placeholders: ``{system}`` (display name of a meeting system), ``{keyword}``, ``{reason}``.
A new language is one more table with the same keys and the same placeholders; a new key goes
into every table (tests/unit/test_locales.py names each one missing). Product names (Zoom,
Webex, Google, hybridcal) stay as they are; the wording follows what the products themselves
print in their invitations in that language.
"""

# ruff: noqa: RUF001 - translations are written in their own scripts: Cyrillic letters and the
# full-width punctuation of Chinese are meant, not look-alikes of ASCII

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
    "video_passcode": "Video system passcode",
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
    "booking.title": "Booked on {device}",
}

_DE = {
    "join": "{system}-Meeting beitreten",
    "meeting_id": "Meeting-ID",
    "passcode": "Kenncode",
    "one_tap": "Schnelleinwahl mobil",
    "by_phone": "Per Telefon teilnehmen",
    "phone_passcode": "Telefon-Kenncode",
    "video": "Über ein Videokonferenzsystem teilnehmen",
    "video_passcode": "Kenncode für Videosysteme",
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
    "booking.title": "Gebucht auf {device}",
}

_JA = {
    "join": "{system} ミーティングに参加する",
    "meeting_id": "ミーティング ID",
    "passcode": "パスコード",
    "one_tap": "ワンタップ モバイル",
    "by_phone": "電話で参加する",
    "phone_passcode": "電話用パスコード",
    "video": "ビデオ会議システムから参加する",
    "video_passcode": "ビデオ システム用パスコード",
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
    "booking.title": "{device} で予約",
}

_FR = {
    "join": "Rejoindre la réunion {system}",
    "meeting_id": "ID de réunion",
    "passcode": "Code secret",
    "one_tap": "Appel en un clic depuis un mobile",
    "by_phone": "Rejoindre par téléphone",
    "phone_passcode": "Code secret pour le téléphone",
    "video": "Rejoindre depuis un système de visioconférence",
    "video_passcode": "Code secret pour les systèmes vidéo",
    "footer": "Ajouté par hybridcal. Merci de ne pas modifier cette section.",
    "note.unavailable": (
        "{keyword} n'est pas disponible pour ce calendrier (contactez votre administrateur)."
    ),
    "note.retrying": "La réunion {system} n'a pas encore pu être créée ; nous réessaierons.",
    "note.failed": "La réunion {system} n'a pas pu être créée : {reason}",
    "note.series_only": (
        "{keyword} dans une seule occurrence d'une série n'est pas pris en charge ; "
        "ajoutez-le à toute la série."
    ),
    "note.limit_reached": (
        "{system} n'autorise plus de réunions pour cet organisateur aujourd'hui ; "
        "nous réessaierons plus tard."
    ),
    "reason.host_not_found": (
        "l'organisateur n'y a pas de compte actif (contactez votre administrateur)."
    ),
    "reason.no_privilege": (
        "hybridcal n'est pas autorisé à planifier pour l'organisateur "
        "(contactez votre administrateur)."
    ),
    "reason.refused": (
        "la demande a été refusée (votre administrateur peut en voir la raison) ; "
        "nous réessaierons."
    ),
    "reason.conference_not_allowed": (
        "elle est désactivée pour le compte de l'organisateur (contactez votre administrateur) ; "
        "nous réessaierons plus tard."
    ),
    "reason.conference_failed": (
        "Google n'a pas pu la créer (votre administrateur peut en voir la raison) ; "
        "nous réessaierons plus tard."
    ),
    "booking.title": "Réservé depuis {device}",
}

_ES = {
    "join": "Unirse a la reunión de {system}",
    "meeting_id": "ID de reunión",
    "passcode": "Código de acceso",
    "one_tap": "Marcación con un toque desde el móvil",
    "by_phone": "Unirse por teléfono",
    "phone_passcode": "Código de acceso telefónico",
    "video": "Unirse desde un sistema de videoconferencia",
    "video_passcode": "Código de acceso para sistemas de vídeo",
    "footer": "Añadido por hybridcal. No modifique esta sección.",
    "note.unavailable": (
        "{keyword} no está disponible para este calendario (consulte a su administrador)."
    ),
    "note.retrying": "Aún no se pudo crear la reunión de {system}; lo volveremos a intentar.",
    "note.failed": "No se pudo crear la reunión de {system}: {reason}",
    "note.series_only": (
        "No se admite {keyword} en una sola instancia de una serie; añádalo a toda la serie."
    ),
    "note.limit_reached": (
        "{system} no permite más reuniones hoy para este organizador; "
        "lo volveremos a intentar más tarde."
    ),
    "reason.host_not_found": (
        "el organizador no tiene una cuenta activa allí (consulte a su administrador)."
    ),
    "reason.no_privilege": (
        "hybridcal no puede programar reuniones en nombre del organizador "
        "(consulte a su administrador)."
    ),
    "reason.refused": (
        "se rechazó la solicitud (su administrador puede ver el motivo); lo volveremos a intentar."
    ),
    "reason.conference_not_allowed": (
        "está desactivada para la cuenta del organizador (consulte a su administrador); "
        "lo volveremos a intentar más tarde."
    ),
    "reason.conference_failed": (
        "Google no pudo crearla (su administrador puede ver el motivo); "
        "lo volveremos a intentar más tarde."
    ),
    "booking.title": "Reservado desde {device}",
}

_IT = {
    "join": "Partecipa alla riunione {system}",
    "meeting_id": "ID riunione",
    "passcode": "Codice di accesso",
    "one_tap": "Accesso rapido da dispositivo mobile",
    "by_phone": "Partecipa per telefono",
    "phone_passcode": "Codice di accesso telefonico",
    "video": "Partecipa da un sistema di videoconferenza",
    "video_passcode": "Codice di accesso per sistemi video",
    "footer": "Aggiunto da hybridcal. Non modificare questa sezione.",
    "note.unavailable": (
        "{keyword} non è disponibile per questo calendario (rivolgersi all'amministratore)."
    ),
    "note.retrying": "Non è stato ancora possibile creare la riunione {system}; riproveremo.",
    "note.failed": "Impossibile creare la riunione {system}: {reason}",
    "note.series_only": (
        "{keyword} in una singola occorrenza di una serie non è supportato; "
        "aggiungerlo all'intera serie."
    ),
    "note.limit_reached": (
        "{system} non consente altre riunioni oggi per questo organizzatore; riproveremo più tardi."
    ),
    "reason.host_not_found": (
        "l'organizzatore non vi ha un account attivo (rivolgersi all'amministratore)."
    ),
    "reason.no_privilege": (
        "hybridcal non è autorizzato a pianificare per conto dell'organizzatore "
        "(rivolgersi all'amministratore)."
    ),
    "reason.refused": (
        "la richiesta è stata rifiutata (l'amministratore può vederne il motivo); riproveremo."
    ),
    "reason.conference_not_allowed": (
        "è disattivata per l'account dell'organizzatore (rivolgersi all'amministratore); "
        "riproveremo più tardi."
    ),
    "reason.conference_failed": (
        "Google non è riuscito a crearla (l'amministratore può vederne il motivo); "
        "riproveremo più tardi."
    ),
    "booking.title": "Prenotato da {device}",
}

# one table for Brazil and Portugal: words both use (no "senha"/"celular"/"telemóvel")
_PT = {
    "join": "Entrar na reunião {system}",
    "meeting_id": "ID da reunião",
    "passcode": "Código de acesso",
    "one_tap": "Acesso rápido por dispositivo móvel",
    "by_phone": "Entrar por telefone",
    "phone_passcode": "Código de acesso por telefone",
    "video": "Entrar a partir de um sistema de videoconferência",
    "video_passcode": "Código de acesso para sistemas de vídeo",
    "footer": "Adicionado pelo hybridcal. Não edite esta parte.",
    "note.unavailable": (
        "{keyword} não está disponível para este calendário (fale com o administrador)."
    ),
    "note.retrying": "Ainda não foi possível criar a reunião {system}; tentaremos novamente.",
    "note.failed": "Não foi possível criar a reunião {system}: {reason}",
    "note.series_only": (
        "{keyword} numa única ocorrência de uma série não é suportado; adicione-o à série inteira."
    ),
    "note.limit_reached": (
        "{system} não permite mais reuniões hoje para este organizador; "
        "tentaremos novamente mais tarde."
    ),
    "reason.host_not_found": (
        "o organizador não tem uma conta ativa nesse serviço (fale com o administrador)."
    ),
    "reason.no_privilege": (
        "o hybridcal não tem permissão para agendar em nome do organizador "
        "(fale com o administrador)."
    ),
    "reason.refused": (
        "o pedido foi recusado (o administrador pode ver o motivo); tentaremos novamente."
    ),
    "reason.conference_not_allowed": (
        "está desativada na conta do organizador (fale com o administrador); "
        "tentaremos novamente mais tarde."
    ),
    "reason.conference_failed": (
        "o Google não conseguiu criá-la (o administrador pode ver o motivo); "
        "tentaremos novamente mais tarde."
    ),
    "booking.title": "Reservado em {device}",
}

_NL = {
    "join": "Deelnemen aan {system}-vergadering",
    "meeting_id": "Vergadering-ID",
    "passcode": "Toegangscode",
    "one_tap": "Snel inbellen via mobiel",
    "by_phone": "Deelnemen via telefoon",
    "phone_passcode": "Toegangscode voor telefoon",
    "video": "Deelnemen vanaf een videovergadersysteem",
    "video_passcode": "Toegangscode voor videosystemen",
    "footer": "Toegevoegd door hybridcal. Bewerk dit gedeelte niet.",
    "note.unavailable": (
        "{keyword} is niet beschikbaar voor deze agenda (neem contact op met uw beheerder)."
    ),
    "note.retrying": (
        "De {system}-vergadering kon nog niet worden gemaakt; we proberen het opnieuw."
    ),
    "note.failed": "De {system}-vergadering kon niet worden gemaakt: {reason}",
    "note.series_only": (
        "{keyword} in één exemplaar van een reeks wordt niet ondersteund; "
        "voeg het toe aan de hele reeks."
    ),
    "note.limit_reached": (
        "{system} staat vandaag geen vergaderingen meer toe voor deze organisator; "
        "we proberen het later opnieuw."
    ),
    "reason.host_not_found": (
        "de organisator heeft daar geen actief account (neem contact op met uw beheerder)."
    ),
    "reason.no_privilege": (
        "hybridcal mag niet plannen namens de organisator (neem contact op met uw beheerder)."
    ),
    "reason.refused": (
        "het verzoek is geweigerd (uw beheerder kan zien waarom); we proberen het opnieuw."
    ),
    "reason.conference_not_allowed": (
        "het is uitgeschakeld voor het account van de organisator (neem contact op met uw "
        "beheerder); we proberen het later opnieuw."
    ),
    "reason.conference_failed": (
        "Google kon de vergadering niet maken (uw beheerder kan zien waarom); "
        "we proberen het later opnieuw."
    ),
    "booking.title": "Geboekt op {device}",
}

_ZH_CN = {
    "join": "加入 {system} 会议",
    "meeting_id": "会议号",
    "passcode": "密码",
    "one_tap": "移动设备一键拨号",
    "by_phone": "通过电话加入",
    "phone_passcode": "电话密码",
    "video": "从视频会议系统加入",
    "video_passcode": "视频系统密码",
    "footer": "由 hybridcal 添加。请勿编辑此部分。",
    "note.unavailable": "此日历无法使用 {keyword}（请联系管理员）。",
    "note.retrying": "暂时无法创建 {system} 会议；我们将重试。",
    "note.failed": "无法创建 {system} 会议：{reason}",
    "note.series_only": "不支持在重复会议的单次会议中使用 {keyword}；请将其添加到整个系列。",
    "note.limit_reached": "{system} 今天不允许再为此组织者创建会议；我们稍后将重试。",
    "reason.host_not_found": "组织者在该系统中没有有效账户（请联系管理员）。",
    "reason.no_privilege": "hybridcal 无权代表组织者安排会议（请联系管理员）。",
    "reason.refused": "请求被拒绝（管理员可以查看原因）；我们将重试。",
    "reason.conference_not_allowed": "组织者的账户已关闭此功能（请联系管理员）；我们稍后将重试。",
    "reason.conference_failed": "Google 无法创建会议（管理员可以查看原因）；我们稍后将重试。",
    "booking.title": "通过 {device} 预订",
}

_ZH_TW = {
    "join": "加入 {system} 會議",
    "meeting_id": "會議 ID",
    "passcode": "密碼",
    "one_tap": "行動裝置一鍵撥號",
    "by_phone": "透過電話加入",
    "phone_passcode": "電話密碼",
    "video": "從視訊會議系統加入",
    "video_passcode": "視訊系統密碼",
    "footer": "由 hybridcal 新增。請勿編輯此區段。",
    "note.unavailable": "此行事曆無法使用 {keyword}（請洽詢管理員）。",
    "note.retrying": "目前尚無法建立 {system} 會議；我們會再試一次。",
    "note.failed": "無法建立 {system} 會議：{reason}",
    "note.series_only": "不支援在週期性會議的單一場次中使用 {keyword}；請將其新增至整個系列。",
    "note.limit_reached": "{system} 今天不允許再為此召集人建立會議；我們稍後會再試一次。",
    "reason.host_not_found": "召集人在該系統中沒有有效的帳戶（請洽詢管理員）。",
    "reason.no_privilege": "hybridcal 無權代表召集人排定會議（請洽詢管理員）。",
    "reason.refused": "要求遭到拒絕（管理員可以查看原因）；我們會再試一次。",
    "reason.conference_not_allowed": (
        "召集人的帳戶已停用此功能（請洽詢管理員）；我們稍後會再試一次。"
    ),
    "reason.conference_failed": "Google 無法建立會議（管理員可以查看原因）；我們稍後會再試一次。",
    "booking.title": "透過 {device} 預訂",
}

_KO = {
    "join": "{system} 회의 참가",
    "meeting_id": "회의 ID",
    "passcode": "암호",
    "one_tap": "원탭 모바일",
    "by_phone": "전화로 참가",
    "phone_passcode": "전화 암호",
    "video": "화상 회의 시스템에서 참가",
    "video_passcode": "화상 시스템 암호",
    "footer": "hybridcal에서 추가했습니다. 이 섹션은 편집하지 마세요.",
    "note.unavailable": (
        "이 캘린더에서는 {keyword}을(를) 사용할 수 없습니다(관리자에게 문의하세요)."
    ),
    "note.retrying": "{system} 회의를 아직 만들지 못했습니다. 다시 시도하겠습니다.",
    "note.failed": "{system} 회의를 만들 수 없습니다: {reason}",
    "note.series_only": (
        "반복 일정의 한 항목에만 있는 {keyword}은(는) 지원되지 않습니다. "
        "전체 반복 일정에 추가하세요."
    ),
    "note.limit_reached": (
        "{system}에서 오늘은 이 주최자의 회의를 더 만들 수 없습니다. 나중에 다시 시도하겠습니다."
    ),
    "reason.host_not_found": "주최자에게 활성 계정이 없습니다(관리자에게 문의하세요).",
    "reason.no_privilege": (
        "hybridcal에 주최자 대신 예약할 권한이 없습니다(관리자에게 문의하세요)."
    ),
    "reason.refused": (
        "요청이 거부되었습니다(관리자가 이유를 확인할 수 있습니다). 다시 시도하겠습니다."
    ),
    "reason.conference_not_allowed": (
        "주최자의 계정에서 사용이 중지되어 있습니다(관리자에게 문의하세요). "
        "나중에 다시 시도하겠습니다."
    ),
    "reason.conference_failed": (
        "Google에서 회의를 만들지 못했습니다(관리자가 이유를 확인할 수 있습니다). "
        "나중에 다시 시도하겠습니다."
    ),
    "booking.title": "{device}에서 예약됨",
}

_DA = {
    "join": "Deltag i {system}-møde",
    "meeting_id": "Møde-id",
    "passcode": "Adgangskode",
    "one_tap": "Hurtigopkald fra mobil",
    "by_phone": "Deltag via telefon",
    "phone_passcode": "Adgangskode til telefon",
    "video": "Deltag fra et videokonferencesystem",
    "video_passcode": "Adgangskode til videosystemer",
    "footer": "Tilføjet af hybridcal. Rediger ikke dette afsnit.",
    "note.unavailable": (
        "{keyword} er ikke tilgængelig for denne kalender (kontakt din administrator)."
    ),
    "note.retrying": "{system}-mødet kunne ikke oprettes endnu; vi prøver igen.",
    "note.failed": "{system}-mødet kunne ikke oprettes: {reason}",
    "note.series_only": (
        "{keyword} i en enkelt forekomst af en serie understøttes ikke; tilføj det til hele serien."
    ),
    "note.limit_reached": (
        "{system} tillader ikke flere møder for denne arrangør i dag; vi prøver igen senere."
    ),
    "reason.host_not_found": "arrangøren har ingen aktiv konto der (kontakt din administrator).",
    "reason.no_privilege": (
        "hybridcal må ikke planlægge på arrangørens vegne (kontakt din administrator)."
    ),
    "reason.refused": (
        "anmodningen blev afvist (din administrator kan se hvorfor); vi prøver igen."
    ),
    "reason.conference_not_allowed": (
        "det er slået fra for arrangørens konto (kontakt din administrator); vi prøver igen senere."
    ),
    "reason.conference_failed": (
        "Google kunne ikke oprette det (din administrator kan se hvorfor); vi prøver igen senere."
    ),
    "booking.title": "Booket på {device}",
}

_SV = {
    "join": "Anslut till {system}-möte",
    "meeting_id": "Mötes-ID",
    "passcode": "Lösenkod",
    "one_tap": "Snabbuppringning från mobil",
    "by_phone": "Anslut via telefon",
    "phone_passcode": "Lösenkod för telefon",
    "video": "Anslut från ett videokonferenssystem",
    "video_passcode": "Lösenkod för videosystem",
    "footer": "Tillagt av hybridcal. Redigera inte det här avsnittet.",
    "note.unavailable": (
        "{keyword} är inte tillgängligt för den här kalendern (kontakta din administratör)."
    ),
    "note.retrying": "{system}-mötet kunde inte skapas än; vi försöker igen.",
    "note.failed": "{system}-mötet kunde inte skapas: {reason}",
    "note.series_only": (
        "{keyword} i en enskild förekomst av en serie stöds inte; lägg till det i hela serien."
    ),
    "note.limit_reached": (
        "{system} tillåter inga fler möten för den här organisatören i dag; "
        "vi försöker igen senare."
    ),
    "reason.host_not_found": (
        "organisatören har inget aktivt konto där (kontakta din administratör)."
    ),
    "reason.no_privilege": (
        "hybridcal får inte schemalägga åt organisatören (kontakta din administratör)."
    ),
    "reason.refused": "begäran avvisades (din administratör kan se varför); vi försöker igen.",
    "reason.conference_not_allowed": (
        "det är avstängt för organisatörens konto (kontakta din administratör); "
        "vi försöker igen senare."
    ),
    "reason.conference_failed": (
        "Google kunde inte skapa det (din administratör kan se varför); vi försöker igen senare."
    ),
    "booking.title": "Bokat på {device}",
}

_NB = {
    "join": "Bli med i {system}-møte",
    "meeting_id": "Møte-ID",
    "passcode": "Tilgangskode",
    "one_tap": "Hurtigoppringing fra mobil",
    "by_phone": "Bli med via telefon",
    "phone_passcode": "Tilgangskode for telefon",
    "video": "Bli med fra et videokonferansesystem",
    "video_passcode": "Tilgangskode for videosystemer",
    "footer": "Lagt til av hybridcal. Ikke rediger denne delen.",
    "note.unavailable": (
        "{keyword} er ikke tilgjengelig for denne kalenderen (kontakt administratoren din)."
    ),
    "note.retrying": "{system}-møtet kunne ikke opprettes ennå; vi prøver igjen.",
    "note.failed": "{system}-møtet kunne ikke opprettes: {reason}",
    "note.series_only": (
        "{keyword} i én enkelt forekomst av en serie støttes ikke; legg det til i hele serien."
    ),
    "note.limit_reached": (
        "{system} tillater ikke flere møter for denne arrangøren i dag; vi prøver igjen senere."
    ),
    "reason.host_not_found": (
        "arrangøren har ingen aktiv konto der (kontakt administratoren din)."
    ),
    "reason.no_privilege": (
        "hybridcal har ikke lov til å planlegge på vegne av arrangøren "
        "(kontakt administratoren din)."
    ),
    "reason.refused": (
        "forespørselen ble avvist (administratoren din kan se hvorfor); vi prøver igjen."
    ),
    "reason.conference_not_allowed": (
        "det er slått av for arrangørens konto (kontakt administratoren din); "
        "vi prøver igjen senere."
    ),
    "reason.conference_failed": (
        "Google kunne ikke opprette det (administratoren din kan se hvorfor); "
        "vi prøver igjen senere."
    ),
    "booking.title": "Booket på {device}",
}

# "{system} -kokous" with a space, as Finnish writes a compound after a name of several words
# (Microsoft Teams -kokous, Google Meet -kokous)
_FI = {
    "join": "Liity {system} -kokoukseen",
    "meeting_id": "Kokoustunnus",
    "passcode": "Pääsykoodi",
    "one_tap": "Pikavalinta mobiililaitteella",
    "by_phone": "Liity puhelimella",
    "phone_passcode": "Puhelimen pääsykoodi",
    "video": "Liity videoneuvottelujärjestelmästä",
    "video_passcode": "Videojärjestelmän pääsykoodi",
    "footer": "Lisännyt hybridcal. Älä muokkaa tätä osiota.",
    "note.unavailable": (
        "{keyword} ei ole käytettävissä tässä kalenterissa (ota yhteyttä järjestelmänvalvojaan)."
    ),
    "note.retrying": "{system} -kokousta ei voitu vielä luoda; yritämme uudelleen.",
    "note.failed": "{system} -kokousta ei voitu luoda: {reason}",
    "note.series_only": (
        "{keyword} sarjan yksittäisessä tapahtumassa ei ole tuettu; lisää se koko sarjaan."
    ),
    "note.limit_reached": (
        "{system} ei salli tälle järjestäjälle enempää kokouksia tänään; "
        "yritämme myöhemmin uudelleen."
    ),
    "reason.host_not_found": (
        "järjestäjällä ei ole siellä aktiivista tiliä (ota yhteyttä järjestelmänvalvojaan)."
    ),
    "reason.no_privilege": (
        "hybridcal ei saa ajoittaa kokouksia järjestäjän puolesta "
        "(ota yhteyttä järjestelmänvalvojaan)."
    ),
    "reason.refused": "pyyntö hylättiin (järjestelmänvalvoja näkee syyn); yritämme uudelleen.",
    "reason.conference_not_allowed": (
        "se on poistettu käytöstä järjestäjän tililtä (ota yhteyttä järjestelmänvalvojaan); "
        "yritämme myöhemmin uudelleen."
    ),
    "reason.conference_failed": (
        "Google ei voinut luoda sitä (järjestelmänvalvoja näkee syyn); "
        "yritämme myöhemmin uudelleen."
    ),
    "booking.title": "Varattu laitteella {device}",
}

_PL = {
    "join": "Dołącz do spotkania {system}",
    "meeting_id": "Identyfikator spotkania",
    "passcode": "Kod dostępu",
    "one_tap": "Szybkie wybieranie na telefonie komórkowym",
    "by_phone": "Dołącz przez telefon",
    "phone_passcode": "Kod dostępu przez telefon",
    "video": "Dołącz z systemu wideokonferencyjnego",
    "video_passcode": "Kod dostępu dla systemów wideo",
    "footer": "Dodane przez hybridcal. Nie edytuj tej sekcji.",
    "note.unavailable": (
        "{keyword} nie jest dostępne w tym kalendarzu (skontaktuj się z administratorem)."
    ),
    "note.retrying": "Nie udało się jeszcze utworzyć spotkania {system}; spróbujemy ponownie.",
    "note.failed": "Nie udało się utworzyć spotkania {system}: {reason}",
    "note.series_only": (
        "{keyword} w pojedynczym wystąpieniu serii nie jest obsługiwane; dodaj je do całej serii."
    ),
    "note.limit_reached": (
        "{system} nie pozwala dziś na więcej spotkań tego organizatora; "
        "spróbujemy ponownie później."
    ),
    "reason.host_not_found": (
        "organizator nie ma tam aktywnego konta (skontaktuj się z administratorem)."
    ),
    "reason.no_privilege": (
        "hybridcal nie może planować spotkań w imieniu organizatora "
        "(skontaktuj się z administratorem)."
    ),
    "reason.refused": (
        "żądanie zostało odrzucone (administrator może sprawdzić przyczynę); spróbujemy ponownie."
    ),
    "reason.conference_not_allowed": (
        "ta funkcja jest wyłączona na koncie organizatora (skontaktuj się z administratorem); "
        "spróbujemy ponownie później."
    ),
    "reason.conference_failed": (
        "Google nie mógł utworzyć spotkania (administrator może sprawdzić przyczynę); "
        "spróbujemy ponownie później."
    ),
    "booking.title": "Zarezerwowano na urządzeniu {device}",
}

_RU = {
    "join": "Подключиться к конференции {system}",
    "meeting_id": "Идентификатор конференции",
    "passcode": "Код доступа",
    "one_tap": "Быстрое подключение с мобильного",
    "by_phone": "Подключиться по телефону",
    "phone_passcode": "Код доступа для телефона",
    "video": "Подключиться из системы видеоконференцсвязи",
    "video_passcode": "Код доступа для видеосистем",
    "footer": "Добавлено hybridcal. Не изменяйте этот раздел.",
    "note.unavailable": "{keyword} недоступно для этого календаря (обратитесь к администратору).",
    "note.retrying": "Конференцию {system} пока не удалось создать; мы попробуем ещё раз.",
    "note.failed": "Не удалось создать конференцию {system}: {reason}",
    "note.series_only": (
        "{keyword} в отдельном повторении серии не поддерживается; добавьте его во всю серию."
    ),
    "note.limit_reached": (
        "{system} сегодня не позволяет создавать новые конференции для этого организатора; "
        "мы попробуем позже."
    ),
    "reason.host_not_found": (
        "у организатора там нет активной учётной записи (обратитесь к администратору)."
    ),
    "reason.no_privilege": (
        "hybridcal не может планировать конференции от имени организатора "
        "(обратитесь к администратору)."
    ),
    "reason.refused": (
        "запрос отклонён (администратор может узнать причину); мы попробуем ещё раз."
    ),
    "reason.conference_not_allowed": (
        "функция отключена для учётной записи организатора (обратитесь к администратору); "
        "мы попробуем позже."
    ),
    "reason.conference_failed": (
        "Google не удалось её создать (администратор может узнать причину); мы попробуем позже."
    ),
    "booking.title": "Забронировано на устройстве {device}",
}

# keys are what core.render.match_locale answers: a language, or zh-CN/zh-TW for Chinese
LOCALES: Final = MappingProxyType(
    {
        tag: MappingProxyType(table)
        for tag, table in {
            "en": _EN,
            "de": _DE,
            "fr": _FR,
            "es": _ES,
            "it": _IT,
            "pt": _PT,
            "nl": _NL,
            "da": _DA,
            "sv": _SV,
            "nb": _NB,
            "fi": _FI,
            "pl": _PL,
            "ru": _RU,
            "ja": _JA,
            "zh-CN": _ZH_CN,
            "zh-TW": _ZH_TW,
            "ko": _KO,
        }.items()
    }
)
