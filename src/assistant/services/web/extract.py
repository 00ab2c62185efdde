"""Main text, title, metadata and links of a page, extracted by trafilatura (no boilerplate rules of ours)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from w3lib.encoding import html_to_unicode

from assistant.services.web.errors import EmptyPageError

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain",)
_BLOCKS = {"p", "item", "quote", "row", "code"}
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class PageContent:
    """What was read from one page."""

    title: str
    text: str
    """Headings and paragraphs, one block per line-pair ("\\n\\n")."""
    paragraphs: list[str]
    """Body blocks in page order, headings left out."""
    links: list[Link]
    """Links inside the main text, in page order, absolute."""
    metadata: dict[str, str] = field(default_factory=dict)
    """author, date, description, sitename, hostname when the page has them."""
    encoding: str = "utf-8"


def decode(body: bytes, content_type: str) -> tuple[str, str]:
    """(text, encoding): header charset, then BOM, then <meta>, then detection."""
    encoding, text = html_to_unicode(content_type or None, body)
    return text, encoding


def extract(body: bytes, content_type: str, url: str) -> PageContent:
    """Read the page in `body`; raise `EmptyPageError` when it holds no readable text."""
    text, encoding = decode(body, content_type)
    if content_type.split(";")[0].strip().lower() in TEXT_TYPES:
        return _plain(text, url, encoding)
    return _html(text, url, encoding)


def _plain(text: str, url: str, encoding: str) -> PageContent:
    paragraphs = [_clean(block) for block in re.split(r"\n\s*\n", text) if block.strip()]
    if not paragraphs:
        raise EmptyPageError(f"The page at {url} has no text.", url=url)
    title = paragraphs[0][:80]
    return PageContent(title, "\n\n".join(paragraphs), paragraphs, [], {}, encoding)


def _html(html: str, url: str, encoding: str) -> PageContent:
    import trafilatura

    options: dict[str, Any] = dict(
        url=url,
        output_format="xml",
        include_links=True,
        include_tables=True,
        include_comments=False,
        with_metadata=True,
    )
    xml = trafilatura.extract(html, **options) or trafilatura.extract(
        html, favor_recall=True, **options
    )
    if not xml:
        raise EmptyPageError(f"I opened {url} but found no readable text on it.", url=url)
    root = etree.fromstring(xml.encode("utf-8"))
    title = root.get("title") or _title(html, url)
    blocks: list[str] = []
    paragraphs: list[str] = []
    links: list[Link] = []
    main = root.find("main")
    for element in (main if main is not None else root).iter():
        tag = element.tag
        if tag == "ref":
            target = element.get("target")
            if target and not target.startswith(("javascript:", "mailto:", "#")):
                links.append(
                    Link(_clean("".join(element.itertext())) or target, urljoin(url, target))
                )
        elif tag == "head" or tag in _BLOCKS:
            if tag != "row" and any(child.tag in _BLOCKS for child in element):
                continue
            block = _block_text(element)
            if not block:
                continue
            blocks.append(block)
            if tag != "head":
                paragraphs.append(block)
    if not paragraphs:
        raise EmptyPageError(
            f"I opened {url} but found no readable text on it.", url=url, title=title
        )
    found = {
        key: root.get(key) for key in ("author", "date", "description", "sitename", "hostname")
    }
    return PageContent(
        title=_clean(title),
        text="\n\n".join(blocks),
        paragraphs=paragraphs,
        links=_unique(links),
        metadata={key: value for key, value in found.items() if value},
        encoding=encoding,
    )


def _title(html: str, url: str) -> str:
    """The title from the page's metadata, for pages whose main text did not carry one."""
    from trafilatura import extract_metadata

    document = extract_metadata(html, default_url=url)
    return str(document.title or "") if document is not None else ""


def _block_text(element: etree._Element) -> str:
    if element.tag == "row":
        cells = [_clean("".join(cell.itertext())) for cell in element]
        return " | ".join(cell for cell in cells if cell)
    return _clean("".join(element.itertext()))


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _unique(links: list[Link]) -> list[Link]:
    seen: set[str] = set()
    result = []
    for link in links:
        if link.url not in seen:
            seen.add(link.url)
            result.append(link)
    return result
