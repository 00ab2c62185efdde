"""Why a page could not be read: one `WebError` subclass per cause, worded to be spoken.

Each error carries a stable `code` (the skill picks its answer by it) and the
`fields` that fill the answer template, so the cause survives a trip between
processes as plain data (`to_dict` / `from_dict`).
"""

from __future__ import annotations

from typing import Any

from assistant.errors import AssistantError


class WebError(AssistantError):
    """A page could not be fetched or read; `str(error)` is a sentence for the user."""

    code = "web_error"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.fields = {key: value for key, value in fields.items() if value is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self), "fields": dict(self.fields)}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> WebError:
        """Rebuild the error of the right subclass from `to_dict` output."""
        kind = _BY_CODE.get(str(value.get("code")), WebError)
        error = kind.__new__(kind)
        WebError.__init__(error, str(value.get("message", "")), **dict(value.get("fields") or {}))
        return error


class InvalidUrlError(WebError):
    code = "invalid_url"


class BlockedAddressError(WebError):
    """The address is loopback, private, link-local or a cloud metadata service."""

    code = "blocked_address"


class UnknownHostError(WebError):
    code = "unknown_host"


class ConnectionFailedError(WebError):
    code = "connection_failed"


class FetchTimeoutError(WebError):
    code = "timeout"


class TooManyRedirectsError(WebError):
    code = "too_many_redirects"


class RobotsDisallowedError(WebError):
    code = "robots_disallowed"


class HttpStatusError(WebError):
    """The server answered with an error status (`fields["status"]`)."""

    code = "http_status"


class PageTooLargeError(WebError):
    code = "too_large"


class UnsupportedContentError(WebError):
    """The response is not a web page (an image, a PDF, a binary download...)."""

    code = "unsupported_content"


class EmptyPageError(WebError):
    code = "empty_page"


_BY_CODE: dict[str, type[WebError]] = {
    kind.code: kind
    for kind in (
        WebError,
        InvalidUrlError,
        BlockedAddressError,
        UnknownHostError,
        ConnectionFailedError,
        FetchTimeoutError,
        TooManyRedirectsError,
        RobotsDisallowedError,
        HttpStatusError,
        PageTooLargeError,
        UnsupportedContentError,
        EmptyPageError,
    )
}
