"""WebService against a real HTTP server on 127.0.0.1: pages, cache, robots, and every failure."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import WebSettings
from assistant.home import Home
from assistant.services.web import (
    BlockedAddressError,
    FetchTimeoutError,
    HttpStatusError,
    InvalidUrlError,
    PageTooLargeError,
    RobotsDisallowedError,
    TooManyRedirectsError,
    UnsupportedContentError,
    WebError,
    WebService,
    safety,
)
from fixtures.web.site import SiteState, serve


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, SiteState]]:
    with serve() as running:
        yield running


def make_service(tmp_path: Path, **overrides: object) -> WebService:
    options: dict[str, object] = dict(
        allow_private_networks=True,
        min_interval_s=0,
        read_timeout_s=0.5,
        connect_timeout_s=1,
        total_timeout_s=3,
        retry_backoff_s=0.05,
        max_bytes=200_000,
    )
    options.update(overrides)
    return WebService(Home(tmp_path), WebSettings(**options))


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebService]:
    service = make_service(tmp_path)
    yield service
    service.close()


def test_reads_title_paragraphs_links_and_metadata_without_page_furniture(web, site):
    base, _ = site
    page = web.fetch(f"{base}/bridge.html")
    assert page["status"] == 200 and page["title"] == "The Kelder Bridge: a history"
    assert page["paragraphs"][0].startswith("The Kelder Bridge is a stone arch bridge")
    assert page["metadata"]["author"] == "Helen Marsh"
    assert {"text": "Riverton town archive", "url": "https://archive.example.org/kelder"} in page[
        "links"
    ]
    assert page["links"][0]["url"] == f"{base}/reports/footfall-2023"  # made absolute
    everything = page["text"] + " ".join(link["text"] for link in page["links"])
    for furniture in (
        "cookies",
        "Subscribe now",
        "Privacy policy",
        "All rights reserved",
        "parking rules",
    ):
        assert furniture not in everything


def test_second_fetch_is_a_conditional_request_answered_from_the_cache(tmp_path, site):
    base, state = site
    first = make_service(tmp_path).fetch(f"{base}/lighthouse.html")
    again = make_service(tmp_path).fetch(f"{base}/lighthouse.html")  # a new process, same home
    assert not first["from_cache"] and again["from_cache"]
    assert again["text"] == first["text"]
    assert (tmp_path / "data" / "web_cache.sqlite3").is_file()


def test_last_modified_is_sent_back_as_if_modified_since(tmp_path, site):
    base, state = site
    first = make_service(tmp_path).fetch(f"{base}/dated")
    again = make_service(tmp_path).fetch(f"{base}/dated")
    assert not first["from_cache"] and again["from_cache"] and again["title"] == "Dated"


def test_too_many_requests_waits_as_retry_after_says(web, site):
    base, state = site
    page = web.fetch(f"{base}/busy")
    assert page["title"] == "Busy"
    arrived = [at for path, at in state.arrivals if path == "/busy"]
    assert len(arrived) == 2 and arrived[1] - arrived[0] >= 0.95


def test_follows_a_redirect_and_reports_where_it_ended(web, site):
    base, _ = site
    page = web.fetch(f"{base}/moved")
    assert page["final_url"] == f"{base}/bridge.html" and page["redirects"] == [
        f"{base}/bridge.html"
    ]


def test_legacy_encodings_from_meta_tag_and_from_header(web, site):
    base, _ = site
    meta = web.fetch(f"{base}/latin1.html")
    assert "Café Müller" in meta["title"] and "crème brûlée" in meta["text"]
    header = web.fetch(f"{base}/cp1252")
    assert header["paragraphs"][0].startswith("The café’s crème brûlée costs four francs.")


def test_plain_text_is_read_as_paragraphs(web, site):
    base, _ = site
    page = web.fetch(f"{base}/notes.txt")
    assert page["paragraphs"] == ["Plain notes", "The meeting is on Tuesday at noon in room four."]


def test_retries_a_server_error_then_succeeds(web, site):
    base, state = site
    page = web.fetch(f"{base}/flaky")
    assert page["title"] == "Flaky" and state.hits["/flaky"] == 2


@pytest.mark.parametrize(
    ("path", "error", "words"),
    [
        ("/slow", FetchTimeoutError, "took too long"),
        ("/huge", PageTooLargeError, "too big"),
        ("/image.png", UnsupportedContentError, "an image"),
        ("/loop-a", TooManyRedirectsError, "keeps redirecting"),
        ("/private/secret", RobotsDisallowedError, "robots.txt"),
        ("/missing.html", HttpStatusError, "404"),
    ],
)
def test_each_failure_is_a_clear_sentence(web, site, path, error, words):
    base, _ = site
    with pytest.raises(error) as raised:
        web.read(base + path)
    assert words in str(raised.value)
    returned = web.fetch(base + path)
    assert returned["error"]["code"] == error.code and words in returned["error"]["message"]
    assert isinstance(WebError.from_dict(returned["error"]), error)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/file", "javascript:alert(1)", "not a url", "", "http://"]
)
def test_invalid_urls_are_refused_before_any_request(web, url):
    with pytest.raises(InvalidUrlError):
        web.read(url)


def test_loopback_is_refused_unless_private_networks_are_allowed(tmp_path, site):
    base, state = site
    before = sum(state.hits.values())
    strict = make_service(tmp_path, allow_private_networks=False)
    with pytest.raises(BlockedAddressError) as raised:
        strict.read(f"{base}/bridge.html")
    assert "loopback" in str(raised.value) and "allow_private_networks" in str(raised.value)
    with pytest.raises(BlockedAddressError):
        strict.read(f"http://localhost:{base.rsplit(':', 1)[1]}/bridge.html")  # checked after DNS
    assert sum(state.hits.values()) == before  # not even robots.txt was asked for


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://192.168.0.1/admin",
    ],
)
def test_a_redirect_to_a_private_address_is_refused(tmp_path, site, monkeypatch, target):
    base, state = site
    # Let the test server itself count as public, so that only the redirect hop is private.
    original = safety.blocked_reason
    monkeypatch.setattr(
        safety,
        "blocked_reason",
        lambda address: None if address == ipaddress.ip_address("127.0.0.1") else original(address),
    )
    state.redirect_target = target
    strict = make_service(tmp_path, allow_private_networks=False)
    with pytest.raises(BlockedAddressError):
        strict.read(f"{base}/to-private")


def test_a_name_lookup_that_hangs_ends_at_the_fetch_deadline(tmp_path, site, monkeypatch):
    """A resolver that never answers (a dead DNS server) costs the deadline, not forever."""
    import socket
    import threading

    base, _ = site
    released, answered = threading.Event(), threading.Event()
    real = socket.getaddrinfo

    def stuck(host, *args, **kwargs):
        if host == "stuck.example":
            released.wait(20)
            answered.set()
        return real("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    web = make_service(tmp_path, total_timeout_s=1, connect_timeout_s=30)
    try:
        with pytest.raises(FetchTimeoutError, match="took too long"):
            web.read(base.replace("127.0.0.1", "stuck.example") + "/bridge.html")
        assert not answered.is_set()  # it gave up while the lookup was still hanging
    finally:
        released.set()
        web.close()


def test_blocked_reasons_cover_metadata_private_link_local_and_mapped_addresses():
    def reason(text: str) -> str | None:
        return safety.blocked_reason(ipaddress.ip_address(text))

    assert reason("169.254.169.254") == "a cloud metadata service"
    assert reason("100.100.100.200") == "a cloud metadata service"
    assert reason("10.0.0.8") == "a private network address"
    assert reason("fe80::1") == "a link-local address"
    assert reason("::ffff:127.0.0.1") == "this computer (loopback)"
    assert reason("0.0.0.0") is not None
    assert reason("93.184.216.34") is None


def test_pause_between_requests_to_one_host(tmp_path, site):
    base, state = site
    polite = make_service(tmp_path, min_interval_s=0.4)
    polite.fetch(f"{base}/cooperative.html")
    polite.fetch(f"{base}/lighthouse.html")
    arrived = {path: at for path, at in state.arrivals}
    # Without the pause the second request follows within milliseconds.
    assert arrived["/lighthouse.html"] - arrived["/cooperative.html"] >= 0.3
