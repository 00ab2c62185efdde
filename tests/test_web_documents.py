"""The shared current document: kept in SQLite under the home, plus the notes folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import QuestionAnsweringSettings
from assistant.home import Home
from assistant.services.reading.documents import DocumentError, Documents


def test_the_last_text_is_current_and_survives_a_restart(tmp_path):
    home = Home(tmp_path)
    documents = Documents(home, QuestionAnsweringSettings())
    assert documents.current() is None
    documents.set_current("First text.\n\nSecond paragraph.", source="the text you gave me")
    page = {
        "url": "http://a.test/x",
        "final_url": "http://a.test/y",
        "title": "Y",
        "paragraphs": ["One.", "Two."],
    }
    documents.set_page(page)
    again = Documents(home, QuestionAnsweringSettings()).current()
    assert again is not None
    assert (
        again["kind"] == "page" and again["source"] == "http://a.test/y" and again["title"] == "Y"
    )
    assert again["paragraphs"] == ["One.", "Two."]
    assert [d["kind"] for d in documents.recent(5)] == ["page", "text"]
    assert (tmp_path / "data" / "documents.sqlite3").is_file()


def test_only_the_latest_documents_are_kept(tmp_path):
    documents = Documents(Home(tmp_path), QuestionAnsweringSettings())
    for number in range(25):
        documents.set_current(f"Text number {number}.", source="pasted")
    kept = documents.recent(100)
    assert len(kept) == 20 and kept[0]["text"] == "Text number 24."


def test_empty_text_is_refused(tmp_path):
    with pytest.raises(DocumentError, match="empty"):
        Documents(Home(tmp_path), QuestionAnsweringSettings()).set_current("  \n ", source="pasted")


def test_notes_folder_text_files_are_documents(tmp_path):
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "garden.md").write_text(
        "# Garden\n\nThe tomatoes were planted on 3 May.", encoding="utf-8"
    )
    (notes / "sub" / "car.txt").write_text(
        "The car's next service is due in October.", encoding="utf-8"
    )
    (notes / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (notes / "empty.txt").write_text("", encoding="utf-8")
    documents = Documents(Home(tmp_path), QuestionAnsweringSettings(notes_folder=str(notes)))
    found = {Path(d["source"]).name: d for d in documents.notes()}
    assert set(found) == {"garden.md", "car.txt"}
    assert found["garden.md"]["kind"] == "note" and found["garden.md"]["title"] == "garden"


def test_notes_are_empty_when_unset_and_a_missing_folder_is_named(tmp_path):
    assert Documents(Home(tmp_path), QuestionAnsweringSettings()).notes() == []
    missing = Documents(
        Home(tmp_path), QuestionAnsweringSettings(notes_folder=str(tmp_path / "nope"))
    )
    with pytest.raises(DocumentError, match="notes_folder"):
        missing.notes()
