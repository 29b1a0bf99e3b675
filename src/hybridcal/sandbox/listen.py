"""A listening socket for a simulator, bound before its app is built: the answers a
simulator gives (resource URIs, nextLinks, token ``api_url``) need the real port."""

from __future__ import annotations

import socket


def bind(host: str, port: int) -> tuple[socket.socket, str]:
    """A non-blocking listening socket on ``host:port`` (0: any free port) and its base URL."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)  # noqa: FBT003 - socket API
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    return sock, f"http://{shown}:{sock.getsockname()[1]}"
