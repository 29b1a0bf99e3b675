"""Event bodies: Exchange's HTML wrapper, ``bodyPreview`` and text/HTML conversion.

Graph returns HTML bodies as whole documents (``<html><head><meta ...></head><body>...</body>
</html>``) even when a client stored a fragment, so a client that compares bodies byte for byte
with what it sent is caught out. ``bodyPreview`` is the first 255 characters of the text.
"""

from __future__ import annotations

import html
import re

_HEAD = (
    '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n'
    "</head>\r\n<body>\r\n"
)
_TAIL = "\r\n</body>\r\n</html>\r\n"
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", re.IGNORECASE)
_HIDDEN = re.compile(r"<(head|style|script)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


def store_html(content: str) -> str:
    if not content.strip():
        return ""
    if "<html" in content.lower():
        return content
    return _HEAD + content + _TAIL


def to_text(content: str) -> str:
    text = _HIDDEN.sub("", content)
    text = _BREAK.sub("\r\n", text)
    text = _TAG.sub("", text)
    return html.unescape(text).strip()


def to_html(content: str) -> str:
    return store_html(html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n"))


def preview(content: str, content_type: str) -> str:
    text = to_text(content) if content_type == "html" else content
    return _SPACE.sub(" ", text).strip()[:255]
