"""Which URLs and addresses the fetcher may reach: http(s) only, public addresses only.

Addresses are checked where the connection is made (`GuardedBackend`), after DNS
resolution, so every redirect hop and every DNS answer goes through the same check.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from assistant.services.web.deadline import DeadlineStream, cut
from assistant.services.web.errors import BlockedAddressError, InvalidUrlError, UnknownHostError

ALLOWED_SCHEMES = ("http", "https")

# Metadata services of cloud providers; most are link-local or private already,
# 100.100.100.200 (Alibaba) sits in the shared address space, which is not global.
CLOUD_METADATA = frozenset(
    ipaddress.ip_address(value)
    for value in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_url(raw: str) -> httpx.URL:
    """`raw` as an absolute http(s) URL; a bare "example.com/page" gets "https://"."""
    text = (raw or "").strip().strip("<>\"'")
    if not text:
        raise InvalidUrlError("That is not a web address: it is empty.", url=raw)
    if "://" not in text and not text.lower().startswith(
        ("mailto:", "javascript:", "data:", "file:")
    ):
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError) as error:
        raise InvalidUrlError(f"{raw!r} is not a valid web address ({error}).", url=raw) from None
    if url.scheme not in ALLOWED_SCHEMES:
        raise InvalidUrlError(
            f"I only open http and https addresses, not {url.scheme or 'this kind of'} addresses.",
            url=raw,
            scheme=url.scheme,
        )
    if (
        not url.host
        or (" " in url.host)
        or ("." not in url.host and url.host != "localhost" and ":" not in url.host)
    ):
        raise InvalidUrlError(
            f"{raw!r} is not a valid web address: it has no proper host name.", url=raw
        )
    return url


NAT64_PREFIXES = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
"""Translators to IPv4 (RFC 6052, RFC 8215): the last 32 bits are the IPv4 target."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: mapped, compatible, NAT64, 6to4, Teredo."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d, deprecated "IPv4-compatible"
        found.append(low32)
    if any(address in network for network in NAT64_PREFIXES):
        found.append(low32)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # (server, client)
    return found


def blocked_reason(address: IpAddress) -> str | None:
    """Why `address` may not be reached without `allow_private_networks`, or None.

    An IPv6 address that carries an IPv4 one is judged by both: `::127.0.0.1`,
    `64:ff9b::a9fe:a9fe` and `2002:7f00:1::` lead to loopback or metadata services.
    """
    inner = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else []
    for candidate in (*inner, address):
        reason = _reason(candidate)
        if reason is not None:
            return reason
    return None


def _reason(address: IpAddress) -> str | None:
    if address in CLOUD_METADATA:
        return "a cloud metadata service"
    if address.is_loopback:
        return "this computer (loopback)"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private network address"
    if not address.is_global or address.is_multicast:
        return "a reserved address"
    return None


def resolve(host: str, port: int, timeout: float | None = None) -> list[IpAddress]:
    """Every address `host` resolves to, in the resolver's order.

    Raises `httpcore.ConnectTimeout` when the lookup takes over `timeout` seconds.
    """
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [literal]
    try:
        infos = _getaddrinfo(host, port, timeout)
    except (socket.gaierror, UnicodeError) as error:
        raise UnknownHostError(f"I could not find the site {host} ({error}).", host=host) from None
    addresses: list[IpAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _getaddrinfo(host: str, port: int, timeout: float | None) -> list[Any]:
    """`socket.getaddrinfo`, given up after `timeout` seconds.

    The C resolver cannot be interrupted, so it runs in a daemon thread that is left
    to finish on its own when the caller stops waiting.
    """
    if timeout is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    outcome: list[Any] = []

    def look_up() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as error:  # handed to the waiting thread
            outcome.append(error)

    thread = threading.Thread(target=look_up, name=f"dns {host}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise httpcore.ConnectTimeout(f"looking up {host} took over {timeout:g} s")
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return list(outcome[0])


def check_addresses(host: str, addresses: Iterable[IpAddress]) -> None:
    """Raise `BlockedAddressError` if any of `addresses` is not public."""
    for address in addresses:
        reason = blocked_reason(address)
        if reason is not None:
            raise BlockedAddressError(
                f"I won't open {host}: it points to {reason} ({address}). "
                "Set [web] allow_private_networks = true to allow it.",
                host=host,
                address=str(address),
            )


class GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself, refuses non-public addresses, then connects to the checked one.

    Its streams keep the fetch's deadline (`deadline.within`).

    Connecting to the address that was checked (not re-resolving) closes the
    DNS-rebinding gap; TLS still verifies the certificate against the host name.
    """

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port, cut(timeout, httpcore.ConnectTimeout))
        if not self.allow_private:
            check_addresses(host, addresses)
        last_error: Exception | None = None
        for address in addresses:
            try:
                stream = super().connect_tcp(
                    str(address), port, cut(timeout, httpcore.ConnectTimeout), local_address, socket_options
                )
                return DeadlineStream(stream)
            except httpcore.ConnectError as error:
                last_error = error
        raise last_error or httpcore.ConnectError(f"no address for {host}")


def guarded_transport(allow_private: bool, **options: Any) -> httpx.HTTPTransport:
    """An httpx transport whose every connection goes through `GuardedBackend`."""
    transport = httpx.HTTPTransport(**options)
    # httpx does not take a network backend; its pool is rebuilt with ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=options.get("limits", httpx.Limits()).max_connections,
        network_backend=GuardedBackend(allow_private),
    )
    return transport
