"""Invitation text for the hostile-input benchmark: benign vendor invitations, and the nastiest
texts an outsider can put in a Google event's location and description.

Every hostile kind stays below ``MAX_BYTES`` (UTF-8) per field, what Google accepts; ``scale``
shrinks every size for a quick smoke run (the shapes stay the same). Deterministic: text ``i``
of a kind is the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_BYTES = 1_000_000  # per field, UTF-8

TEAMS = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{n:020d}%40thread.v2/0?context=%7b%22Tid%22%3a%22{n:08x}%22%7d"
ZOOM = "https://us06web.zoom.us/j/8{n:010d}?pwd=QmVuY2g{n:07d}.1"
WEBEX = "https://acme.webex.com/acme/j.php?MTID=m{n:032x}"


@dataclass(frozen=True, slots=True)
class Invitation:
    kind: str
    location: str
    description: str

    @property
    def size(self) -> int:
        """UTF-8 bytes of location and description."""
        return len(self.location.encode()) + len(self.description.encode())


def benign(n: int) -> Invitation:
    """A real vendor invitation: a Zoom, Teams or Webex block of a few hundred bytes."""
    blocks = (
        (
            f"Vendor sync.\n\nJoin Zoom Meeting\n{ZOOM.format(n=n)}\n\n"
            f"Meeting ID: 8{n:010d}\nPasscode: {n % 1_000_000:06d}\n\n"
            f"One tap mobile\n+41432107042,,8{n:010d}# Switzerland\n"
        ),
        (
            "Partner review.\n\n________________\nMicrosoft Teams meeting\n"
            f"Join on your computer, mobile app or room device\n{TEAMS.format(n=n)}\n"
            f"Meeting ID: 3{n:02d} 456 789 {n % 1000:03d}\nPasscode: Ab{n % 10_000:04d}\n"
        ),
        (
            f"Quarterly planning.\n\nJoin Webex meeting\n{WEBEX.format(n=n)}\n"
            f"Meeting number (access code): 2{n:03d} 456 7890\nMeeting password: Bench{n}\n"
        ),
    )
    return Invitation("benign", "Board Room", blocks[n % len(blocks)])


# -- hostile kinds ---------------------------------------------------------------------------


def _fill(unit: Callable[[int], str], target: int) -> str:
    """``unit(0) + unit(1) + ...`` up to ``target`` characters."""
    parts: list[str] = []
    size = i = 0
    while size < target:
        part = unit(i)
        parts.append(part)
        size += len(part)
        i += 1
    return "".join(parts)


def many_links(n: int, scale: float) -> Invitation:
    """4,000+ distinct Zoom, Teams and Webex links (about 560 KB), each with its labels."""

    def unit(i: int) -> str:
        k = n * 100_000 + i
        if i % 3 == 0:
            return f"{ZOOM.format(n=k)}\nMeeting ID: 8{k:010d} Passcode: {i:06d}\n"
        if i % 3 == 1:
            return f"Join: {TEAMS.format(n=k)}\n"
        return f"{WEBEX.format(n=k)} (Webex)\n"

    return Invitation("many_links", "Board Room", _fill(unit, int(560_000 * scale)))


def teams_long_line(n: int, scale: float) -> Invitation:
    """A Teams meetup-join link glued to 200 KB of URL characters on one line without spaces,
    and another glued to 200 KB of punctuation a URL may end with (``.)``)."""
    size = int(200_000 * scale)
    glued = TEAMS.format(n=n) + ("%3a" + "A" * 61) * (size // 64)
    dots = TEAMS.format(n=n + 1) + ".)" * (size // 2)
    return Invitation("teams_long_line", "Board Room", f"Join here: {glued}\n{dots}\n")


_LOOKALIKES = (
    "https://zoom.us\uff0fj/12345678{d}",  # full-width solidus
    "https://zoom.us\u2215j/12345678{d}",  # division slash
    "https://zoom.us\u2044j/12345678{d}",  # fraction slash
    "https://z\u043e\u043em.us/j/12345678{d}",  # Cyrillic o
    "https://zoom\u200b.us/j/12345678{d}",  # zero-width space
    "https://zo\u200dom.us/j/1234\u200c5678{d}",  # zero-width joiner and non-joiner
    "\u202ehttps://zoom.us/j/12345678{d}\u202c",  # right-to-left override
    "https://teams.microsoft.com/l/meetup-join/%zz%E2%80%3a%%%{d}",  # broken percent-encoding
    "https://xn--zm-8ka.us/j/12345678{d}",  # IDN host
    "https://zoom.us.xn--80ak6aa92e.com/j/12345678{d}",  # IDN suffix
    "https://\u0437\u043e\u043e\u043c.\u0440\u0444/j/12345678{d}",  # Cyrillic host
    "https://zoom.us/j/\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18{d}",  # full-width digits
    "\uff48\uff54\uff54\uff50\uff53://zoom.us/j/12345678{d}",  # full-width scheme
    "https://webex.com@evil.example/j/{d}",  # user-info trick
    "https://meet.google.com/abc-defg-hij{d}\u0301\u0301\u0301",  # combining marks
)


def lookalikes(n: int, scale: float) -> Invitation:
    """Unicode look-alike URLs, bidi and zero-width characters, broken percent-encoding and IDN
    hosts (about 300 KB)."""

    def unit(i: int) -> str:
        link = _LOOKALIKES[i % len(_LOOKALIKES)].format(d=n * 10_000 + i)
        return f"\u200f{link} Meeting ID\uff1a{i:09d}\u2066Passcode\uff1a%zz{i}\u2069\n"

    location = "\u202eBoard Room\u202c \u200b" + _LOOKALIKES[n % len(_LOOKALIKES)].format(d=n)
    return Invitation("lookalikes", location, _fill(unit, int(300_000 * scale)))


def nested_html(n: int, scale: float) -> Invitation:
    """10,000 nested ``<div>`` around a join link, then 10,000 unclosed ``<span><b>``."""
    depth = max(int(10_000 * scale), 10)
    link = f'<a href="{ZOOM.format(n=n)}">Join Zoom Meeting</a>'
    body = (
        "<html><body>"
        + "<div>" * depth
        + link
        + "</div>" * depth
        + '<span style="x"><b>' * depth
        + f"Meeting ID: 8{n:010d}"
        + "</body></html>"
    )
    return Invitation("nested_html", "Board Room", body)


def anchors_html(n: int, scale: float) -> Invitation:
    """50,000 ``<a href>`` anchors (every tenth a distinct Zoom link, the others unclosed),
    under 1 MB."""
    count = max(int(50_000 * scale), 20)

    def anchor(i: int) -> str:
        if i % 10 == 0:
            return f'<a href="https://zoom.us/j/9{n:03d}{i:06d}">z</a>'
        return f"<a href=#{i}>"  # unclosed

    body = "<p>" + "".join(anchor(i) for i in range(count)) + "</p>"
    return Invitation("anchors_html", "Board Room", body)


def labels(n: int, scale: float) -> Invitation:
    """Thousands of "Meeting ID:" / "Passcode:" labels on 8 KB lines, with a Zoom link every
    few lines so that every label is near a link (about 500 KB)."""

    def unit(i: int) -> str:
        line = "".join(f"Meeting ID: {j:011d} Passcode: {j:06d} " for j in range(i, i + 150))
        link = ZOOM.format(n=n * 1000 + i) if i % 2 == 0 else "Dial-in: +41 43 210 70 42"
        return f"{line}\n{link}\nMeeting ID:{' ' * 4000}9\nPasscode:{'-' * 4000}\n"

    return Invitation("labels", "Board Room", _fill(unit, int(500_000 * scale)))


def long_location(n: int, scale: float) -> Invitation:
    """A 100 KB location full of ``@zoom``-like tokens and URLs (a real keyword only after the
    first 4 KB, where no keyword is looked for), and a short description."""

    def unit(i: int) -> str:
        tokens = (
            "bob@zoom.us",
            "@zoomzoom",
            "\uff20zoom",
            "@zoom.us/j/1",
            "(@zoom)x",
            "@ZOOM\u0301",
            "a@teams",
            "@webex:space:space",
        )
        return f"{tokens[i % len(tokens)]} {ZOOM.format(n=n * 100_000 + i)} "

    head = _fill(unit, int(100_000 * scale))
    location = head[:4200] + " @zoom " + head[4200:]
    return Invitation("long_location", location, "See location.")


def wrapped_links(n: int, scale: float) -> Invitation:
    """Safe-links and URL-defense wrappers nested in one another, 8 KB each, and a URL-defense
    prefix whose closing ``__;`` never comes (about 400 KB)."""

    def unit(i: int) -> str:
        inner = ZOOM.format(n=n * 10_000 + i)
        for _ in range(6):
            inner = (
                "https://nam02.safelinks.protection.outlook.com/?url="
                + inner.replace("%", "%25").replace(":", "%3A").replace("/", "%2F")
                + "&data=05%7C01"
            )
        return f"https://urldefense.com/v3/__{inner}__;!!x{'_' * 1500}\n"

    body = _fill(unit, int(400_000 * scale))
    unclosed = "https://urldefense.com/v3/__https://zoom.us/j/1" + "_x" * int(20_000 * scale)
    return Invitation("wrapped_links", "Board Room", body + unclosed + "\n")


def video_addresses(n: int, scale: float) -> Invitation:
    """SIP / H.323 labels and ``sip:`` addresses with host names of thousands of labels, and
    quoted replies (``> > >``) nested hundreds deep (about 400 KB)."""

    def unit(i: int) -> str:
        host = ".".join(f"h{j}" for j in range(i % 7, i % 7 + 700))
        quote = "> " * 300
        return (
            f"SIP address: {n}x{i}@{host}\n"
            f"sip:{n}.{i}@{host};transport=tls\n"
            f"{quote}Join: {ZOOM.format(n=n * 10_000 + i)}\n{quote}Meeting ID: 8{i:010d}\n"
        )

    return Invitation("video_addresses", "Board Room", _fill(unit, int(400_000 * scale)))


HOSTILE: tuple[Callable[[int, float], Invitation], ...] = (
    many_links,
    teams_long_line,
    lookalikes,
    nested_html,
    anchors_html,
    labels,
    long_location,
    wrapped_links,
    video_addresses,
)
KINDS = tuple(make.__name__ for make in HOSTILE)


def hostile(n: int, scale: float = 1.0) -> Invitation:
    """Hostile invitation ``n``: the kinds in turn."""
    made = HOSTILE[n % len(HOSTILE)](n, scale)
    for field in (made.location, made.description):
        if len(field.encode()) > MAX_BYTES:
            raise ValueError(f"{made.kind} is {len(field.encode())} bytes, over {MAX_BYTES}")
    return made
