"""The web service: fetch one page politely and safely, then read it.

Politeness: a clear user agent, robots.txt, a pause between requests to one host,
retries with backoff on 429 and 5xx, conditional requests against a cache.
Safety: http(s) only, public addresses only (checked on every hop), timeouts,
a byte cap and a redirect cap.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from assistant.config import WebSettings
from assistant.home import Home
from assistant.services.web import deadline
from assistant.services.web.cache import CachedPage, PageCache
from assistant.services.web.errors import (
    ConnectionFailedError,
    FetchTimeoutError,
    HttpStatusError,
    PageTooLargeError,
    RobotsDisallowedError,
    TooManyRedirectsError,
    UnsupportedContentError,
    WebError,
)
from assistant.services.web.extract import HTML_TYPES, TEXT_TYPES, extract
from assistant.services.web.robots import RobotsPolicy
from assistant.services.web.safety import guarded_transport, parse_url

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_WAIT_S = 5.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Page:
    """A page that was read; `to_dict()` is what `WebService.fetch` returns."""

    url: str
    """The address asked for."""
    final_url: str
    """Where the redirects ended."""
    status: int
    title: str
    text: str
    paragraphs: list[str]
    links: list[dict[str, str]]
    """{"text", "url"} for each link of the main text."""
    metadata: dict[str, str]
    content_type: str
    encoding: str
    from_cache: bool
    """True when the server answered 304 Not Modified and the cached copy was read."""
    fingerprint: str
    """SHA-256 of the extracted text: changes when the readable content changes."""
    elapsed_s: float
    redirects: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Body:
    status: int
    final_url: str
    content_type: str
    body: bytes
    from_cache: bool
    redirects: list[str]


class WebService:
    """Fetches and reads pages for the skills; one per assistant process, thread-safe."""

    def __init__(self, home: Home, settings: WebSettings) -> None:
        self.settings = settings
        self.cache = PageCache(home.database("web_cache"))
        timeout = httpx.Timeout(
            connect=settings.connect_timeout_s,
            read=settings.read_timeout_s,
            write=settings.read_timeout_s,
            pool=settings.connect_timeout_s,
        )
        self._client = httpx.Client(
            transport=guarded_transport(settings.allow_private_networks),
            headers={
                "User-Agent": settings.user_agent,
                "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
            },
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would bypass the address check
        )
        self.robots = RobotsPolicy(self._fetch_robots, settings.user_agent)
        self._last_request: dict[str, float] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str) -> dict[str, Any]:
        """`Page.to_dict()` of `url`, or {"url", "error": {"code", "message", "fields"}}.

        Errors come back as data, not exceptions, because skills call this from
        their own process and the cause (timeout, robots, 404...) must reach them intact.
        """
        try:
            return self.read(url).to_dict()
        except WebError as error:
            log.info("fetching %s failed: %s", url, error)
            return {"url": url, "error": error.to_dict()}

    def read(self, url: str) -> Page:
        started = time.monotonic()
        target = parse_url(url)
        with deadline.within(self.settings.total_timeout_s):
            got = self._get(target, started)
        content = extract(got.body, got.content_type, got.final_url)
        return Page(
            url=str(target),
            final_url=got.final_url,
            status=got.status,
            title=content.title,
            text=content.text,
            paragraphs=content.paragraphs,
            links=[{"text": link.text, "url": link.url} for link in content.links],
            metadata=content.metadata,
            content_type=got.content_type,
            encoding=content.encoding,
            from_cache=got.from_cache,
            fingerprint=hashlib.sha256(content.text.encode("utf-8")).hexdigest(),
            elapsed_s=round(time.monotonic() - started, 3),
            redirects=got.redirects,
        )

    def _get(self, url: httpx.URL, started: float) -> _Body:
        """Follow redirects by hand so that every hop is checked (scheme, robots, address)."""
        redirects: list[str] = []
        seen = {str(url)}
        while True:
            answer = self.robots.check(url)
            if not answer.allowed:
                raise RobotsDisallowedError(
                    f"I may not read {url.host}{url.path}: {answer.reason}.",
                    url=str(url),
                    host=url.host,
                )
            cached = self.cache.get(str(url))
            response, body = self._request(url, started, cached, answer.crawl_delay_s)
            if response.status_code in _REDIRECTS and "location" in response.headers:
                location = url.join(response.headers["location"])
                target = parse_url(str(location))
                if len(redirects) >= self.settings.max_redirects or str(target) in seen:
                    raise TooManyRedirectsError(
                        f"{url.host} keeps redirecting ({len(redirects) + 1} redirects), so I gave up.",
                        url=str(url),
                        host=url.host,
                    )
                redirects.append(str(target))
                seen.add(str(target))
                url = target
                continue
            if response.status_code == 304 and cached is not None:
                return _Body(200, str(url), cached.content_type, cached.body, True, redirects)
            if response.status_code >= 400:
                raise HttpStatusError(
                    _status_message(url, response.status_code),
                    url=str(url),
                    status=response.status_code,
                )
            content_type = response.headers.get("content-type", "")
            self.cache.put(
                str(url),
                response.headers.get("etag"),
                response.headers.get("last-modified"),
                content_type,
                body,
            )
            return _Body(response.status_code, str(url), content_type, body, False, redirects)

    def _request(
        self,
        url: httpx.URL,
        started: float,
        cached: CachedPage | None = None,
        crawl_delay_s: float | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """One GET with retries on 429/5xx; returns the response and its (capped) body."""
        headers = cached.conditional_headers() if cached else {}
        for attempt in range(self.settings.retries + 1):
            if url.path != "/robots.txt":  # robots.txt and its page count as one visit
                self._pause_for_host(url.host, crawl_delay_s)
            response, body = self._send(url, headers)
            if response.status_code not in RETRY_STATUSES or attempt == self.settings.retries:
                return response, body
            wait = min(
                _retry_after(response) or self.settings.retry_backoff_s * 2**attempt,
                MAX_RETRY_WAIT_S,
            )
            if time.monotonic() - started + wait > self.settings.total_timeout_s:
                return response, body
            log.info("%s answered %s; retrying in %.1f s", url, response.status_code, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")

    def _send(
        self, url: httpx.URL, headers: dict[str, str]
    ) -> tuple[httpx.Response, bytes]:
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if (
                    response.status_code in _REDIRECTS
                    or response.status_code == 304
                    or response.status_code >= 400
                ):
                    return response, b""
                _check_type(url, response.headers.get("content-type", ""))
                return response, self._read_capped(url, response)
        except httpx.TimeoutException:
            raise FetchTimeoutError(
                f"{url.host} took too long to answer, so I stopped waiting.",
                url=str(url),
                host=url.host,
            ) from None
        except httpx.TransportError as error:
            raise ConnectionFailedError(
                f"I could not connect to {url.host} ({error or type(error).__name__}).",
                url=str(url),
                host=url.host,
            ) from None

    def _read_capped(self, url: httpx.URL, response: httpx.Response) -> bytes:
        limit = self.settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(url, limit)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise _too_large(url, limit)
            chunks.append(chunk)
        body = b"".join(chunks)
        if not response.headers.get("content-type") and b"\x00" in body[:2048]:
            raise UnsupportedContentError(f"{url} is a binary file, not a web page.", url=str(url))
        return body

    def _pause_for_host(self, host: str, crawl_delay_s: float | None) -> None:
        interval = max(self.settings.min_interval_s, crawl_delay_s or 0.0)
        with self._lock:
            lock = self._host_locks.setdefault(host, threading.Lock())
        with lock:
            wait = self._last_request.get(host, -1e9) + interval - time.monotonic()
            left = deadline.time_left()
            if wait > 0:
                time.sleep(min(wait, MAX_RETRY_WAIT_S, left if left is not None else wait))
            self._last_request[host] = time.monotonic()

    def _fetch_robots(self, robots_url: str) -> tuple[int, str]:
        url = httpx.URL(robots_url)
        started = time.monotonic()
        for _ in range(5):  # RFC 9309: follow at least five redirects
            try:
                response, body = self._request(url, started)
            except UnsupportedContentError:
                return 404, ""
            except PageTooLargeError:
                return 404, ""
            if response.status_code in _REDIRECTS and "location" in response.headers:
                url = parse_url(str(url.join(response.headers["location"])))
                continue
            return response.status_code, body.decode("utf-8", errors="replace")
        return 404, ""


def _check_type(url: httpx.URL, content_type: str) -> None:
    kind = content_type.split(";")[0].strip().lower()
    if not kind or kind in HTML_TYPES or kind in TEXT_TYPES:
        return
    described = _DESCRIPTIONS.get(
        kind.split("/")[0], _DESCRIPTIONS.get(kind, "a file that is not a web page")
    )
    raise UnsupportedContentError(
        f"{url} is {described} ({kind}), not a web page I can read.",
        url=str(url),
        content_type=kind,
    )


_DESCRIPTIONS = {
    "image": "an image",
    "audio": "an audio file",
    "video": "a video",
    "application/pdf": "a PDF document",
    "application/zip": "a zip archive",
    "application/octet-stream": "a binary download",
    "application/json": "JSON data",
}


def _too_large(url: httpx.URL, limit: int) -> PageTooLargeError:
    return PageTooLargeError(
        f"The page at {url.host} is larger than {limit // 1_000_000 or limit // 1000} "
        f"{'MB' if limit >= 1_000_000 else 'kB'}, too big for me to read.",
        url=str(url),
        max_bytes=limit,
    )


def _status_message(url: httpx.URL, status: int) -> str:
    if status == 404:
        return f"There is no page at {url.host}{url.path} (error 404, not found)."
    if status in (401, 403):
        return f"{url.host} would not let me read that page (error {status})."
    if status == 429:
        return f"{url.host} says I am asking too often (error 429); try again later."
    if status >= 500:
        return f"{url.host} has a problem on its side (error {status}); try again later."
    return f"{url.host} answered with error {status}."


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())
