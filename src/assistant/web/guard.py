"""Who may use the web server, and how much: the token, the Origin check and the limits.

The token is generated on first use, shown once, and only its SHA-256 is stored under the home
(`web_token.sha256`), so a copy of the home does not hand out access. API clients send it as
`Authorization: Bearer TOKEN`; the page's login step exchanges it for a cookie (`HttpOnly`,
`SameSite=Strict`), which a page of another site never gets to send. WebSockets and
state-changing requests must also come from the server's own origin (no cross-site WebSocket
hijacking from a page the user happens to visit).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["COOKIE", "Limits", "RateLimiter", "TokenStore", "is_loopback", "origin_allowed"]

COOKIE = "assistant_token"
"""The cookie the login step sets (HttpOnly, SameSite=Strict)."""
TOKEN_FILE = "web_token.sha256"


@dataclass(frozen=True)
class Limits:
    """What one client may send; beyond it a request is refused with a reason (413, 429...)."""

    max_body_bytes: int = 64 * 1024
    """A JSON request body."""
    max_audio_bytes: int = 10 * 1024 * 1024
    """An uploaded audio file (`/api/stt`)."""
    max_audio_s: float = 60.0
    """Audio transcribed in one request, in seconds."""
    max_text_chars: int = 2000
    """A typed request or a text to speak."""
    max_connections: int = 16
    """Open WebSockets, all clients together."""
    max_messages_per_s: float = 20.0
    """Text messages on one WebSocket (averaged over 5 s)."""
    max_audio_rate: float = 2.0
    """Audio on one WebSocket, as a multiple of real time (averaged over 5 s)."""
    max_message_bytes: int = 64 * 1024
    """One WebSocket message."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """A browser's request comes from the page this server served: its Origin names our Host.

    No Origin at all is a non-browser client (curl, an API client), which the token guards.
    """
    if origin is None:
        return True
    if not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


class TokenStore:
    """The access token: made on first use, checked in constant time; only its hash is kept."""

    def __init__(self, folder: Path):
        self.path = folder / TOKEN_FILE

    def ensure(self) -> str | None:
        """Create a token when there is none and return it (to be shown once); None if one exists."""
        if self.path.exists():
            return None
        token = secrets.token_urlsafe(24)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as stored:
            stored.write(_digest(token) + "\n")
        return token

    def reset(self) -> str:
        """A new token; the old one stops working."""
        self.path.unlink(missing_ok=True)
        token = self.ensure()
        assert token is not None
        return token

    def check(self, token: str | None) -> bool:
        if not token or len(token) > 200 or not self.path.exists():
            return False
        expected = self.path.read_text().strip()
        return hmac.compare_digest(_digest(token), expected)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


class RateLimiter:
    """At most `rate` units a second over a sliding `window_s` (thread-safe)."""

    def __init__(self, rate: float, window_s: float = 5.0):
        self.budget = rate * window_s
        self.window_s = window_s
        self._spent: deque[tuple[float, float]] = deque()
        self._total = 0.0
        self._lock = threading.Lock()

    def allow(self, units: float = 1.0) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._spent and now - self._spent[0][0] > self.window_s:
                self._total -= self._spent.popleft()[1]
            if self._total + units > self.budget:
                return False
            self._spent.append((now, units))
            self._total += units
            return True
