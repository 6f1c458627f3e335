"""Port checks for ``emotive demo``, kept free of gradio so a bad port or host fails in a fraction of a second."""

from __future__ import annotations

import errno
import socket

from emotive.conditioning import EmotiveError


def _bind_error(host: str, port: int) -> OSError | None:
    """The error binding ``host:port`` gives now, or None if it can be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc
    return None


def port_free(host: str, port: int) -> bool:
    """True if ``host:port`` can be bound now."""
    return _bind_error(host, port) is None


def check_port(host: str, port: int) -> None:
    """Raise one clear :class:`EmotiveError` if the demo cannot listen on ``host:port``."""
    if not 1 <= port <= 65535:
        raise EmotiveError(f"--port must be in 1-65535, got {port}.")
    err = _bind_error(host, port)
    if err is None:
        return
    if isinstance(err, socket.gaierror) or err.errno == errno.EADDRNOTAVAIL:
        raise EmotiveError(f"--host '{host}' is not an address of this machine; use 127.0.0.1 or 0.0.0.0.")
    if err.errno == errno.EADDRINUSE:
        raise EmotiveError(f"Port {port} on {host} is in use (another demo running?); pass --port N.")
    raise EmotiveError(f"Cannot listen on {host}:{port}: {err.strerror or err}.")
