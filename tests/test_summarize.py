"""Extractive summaries of the fixture articles: key sentences in, page furniture out, order kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.config import SummarizationSettings
from assistant.home import Home
from assistant.services.reading.summarize import Summarizer, SummaryError
from assistant.services.web.extract import extract
from fixtures.web.models import shared_encoder, tiny_summarization_model

FIXTURES = Path(__file__).parent / "fixtures" / "web"
KEY_SENTENCES = {
    "bridge.html": "The Kelder Bridge is a stone arch bridge that carries the high street of Riverton across the river Avon.",
    "lighthouse.html": "Gullrock Lighthouse stands on a granite island two miles off the coast of Penhallow.",
    "cooperative.html": "The Alta Verde cooperative is a group of small coffee farmers in the mountains of Huila, in southern Colombia.",
}
FURNITURE = ("cookie", "Subscribe", "Copyright", "Privacy", "newsletter", "Great article", "Home")


@pytest.fixture(scope="module")
def summarizer(tmp_path_factory: pytest.TempPathFactory) -> Summarizer:
    return Summarizer(
        Home(tmp_path_factory.mktemp("home")), SummarizationSettings(), shared_encoder()
    )


def read(name: str) -> tuple[str, str, str]:
    """(text, title, raw html) of a fixture page as the web service would read it."""
    html = (FIXTURES / name).read_bytes()
    content = extract(html, "text/html", f"http://pages.test/{name}")
    return "\n\n".join(content.paragraphs), content.title, html.decode("utf-8", errors="replace")


@pytest.mark.parametrize("name", sorted(KEY_SENTENCES))
def test_summary_keeps_the_key_sentence_and_none_of_the_furniture(summarizer, name):
    text, title, html = read(name)
    summary = summarizer.summarize(text, 3, title)
    assert KEY_SENTENCES[name] in summary["sentences"]
    assert len(summary["sentences"]) == 3 and summary["method"] == "extractive"
    for word in FURNITURE:
        assert word.lower() not in summary["text"].lower(), word
    positions = [text.index(sentence) for sentence in summary["sentences"]]
    assert positions == sorted(positions)  # original order kept
    assert set(summary["ranked"]) == set(summary["sentences"])


def test_one_sentence_summary_is_the_key_sentence(summarizer):
    text, title, _ = read("lighthouse.html")
    summary = summarizer.summarize(text, 1, title)
    assert summary["sentences"] == [KEY_SENTENCES["lighthouse.html"]]


def test_near_duplicate_sentences_are_not_both_chosen(summarizer):
    text = "\n\n".join(
        [
            "The town council approved the new cycle path along the canal on Tuesday evening.",
            "On Tuesday evening the town council approved the new cycle path along the canal.",
            "The path will be four kilometres long and will connect the station to the university.",
            "Construction is expected to start in spring and to take about eight months.",
            "Local shop owners welcomed the decision, saying it would bring more customers.",
        ]
    )
    summary = summarizer.summarize(text, 3)
    chosen = " ".join(summary["sentences"])
    assert not (
        "approved the new cycle path along the canal on Tuesday" in chosen
        and "On Tuesday evening the town council" in chosen
    )


def test_long_documents_are_chunked(summarizer, monkeypatch, caplog):
    import assistant.services.reading.summarize as summarize

    monkeypatch.setattr(
        summarize, "MAX_SENTENCES", 60
    )  # the real limits, 400 and 150, work the same way
    monkeypatch.setattr(summarize, "CHUNK_SENTENCES", 25)
    topics = ["harbour", "market", "school", "library", "station", "bridge", "park", "museum"]
    text = "\n\n".join(
        f"The {topics[i % 8]} committee met for the {i}th time this year and discussed the annual report in detail."
        for i in range(120)
    )
    with caplog.at_level("INFO", logger="assistant.services.reading.summarize"):
        summary = summarizer.summarize(text, 2)
    assert len(summary["sentences"]) == 2 and summary["source_sentences"] == 120
    shortlisted = re.search(r"summarising (\d+) sentences shortlisted from 120", caplog.text)
    assert shortlisted is not None and 2 <= int(shortlisted.group(1)) <= summarize.MAX_SENTENCES


def test_short_text_is_returned_whole_and_empty_text_is_an_error(summarizer):
    assert summarizer.summarize("Only one sentence here, and it is short enough.", 3)[
        "sentences"
    ] == ["Only one sentence here, and it is short enough."]
    with pytest.raises(SummaryError, match="empty"):
        summarizer.summarize("   \n\n ", 2)


def test_a_configured_summarization_model_writes_the_summary(tmp_path):
    folder = tiny_summarization_model(tmp_path / "tiny-bart")
    writer = Summarizer(Home(tmp_path), SummarizationSettings(model=str(folder)), shared_encoder())
    text, _, _ = read("bridge.html")
    summary = writer.summarize(text, 1)
    assert summary["method"] == "abstractive" and summary["text"].strip()
