"""Fetching and reading web pages: `WebService.fetch(url)` and the `WebError`s it raises."""

from __future__ import annotations

from assistant.services.web.errors import (
    BlockedAddressError,
    ConnectionFailedError,
    EmptyPageError,
    FetchTimeoutError,
    HttpStatusError,
    InvalidUrlError,
    PageTooLargeError,
    RobotsDisallowedError,
    TooManyRedirectsError,
    UnknownHostError,
    UnsupportedContentError,
    WebError,
)
from assistant.services.web.fetch import Page, WebService

__all__ = [
    "BlockedAddressError",
    "ConnectionFailedError",
    "EmptyPageError",
    "FetchTimeoutError",
    "HttpStatusError",
    "InvalidUrlError",
    "Page",
    "PageTooLargeError",
    "RobotsDisallowedError",
    "TooManyRedirectsError",
    "UnknownHostError",
    "UnsupportedContentError",
    "WebError",
    "WebService",
]
