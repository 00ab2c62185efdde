"""`assistant.text`: untrusted text cleaned on the way in and made visible on the way out."""

from __future__ import annotations

import json

import pytest

from assistant.text import clean, visible

HOSTILE = "a\x1b[8m\x07b\x9b2Jc\u202ed\x7f"


@pytest.mark.parametrize(
    "char",
    ["\x00", "\x07", "\x1b", "\r", "\x7f", "\x80", "\x9b", "\x9f", "\u061c", "\u200e", "\u200f"]
    + [chr(code) for code in range(0x202A, 0x202F)]
    + [chr(code) for code in range(0x2066, 0x206A)],
)
def test_every_control_is_written_out_as_its_code(char: str) -> None:
    shown = visible(f"x{char}y")
    assert shown == f"x\\u{ord(char):04x}y"
    assert shown.isascii() and shown.isprintable()


def test_a_line_keeps_no_newline_or_tab_and_lines_keep_both() -> None:
    # In a one-line field a newline could forge the next line ("  permissions: none").
    assert visible("Clock\n  permissions: none\tx") == "Clock\\u000a  permissions: none\\u0009x"
    assert visible("two\nlines\tand a tab\r", multiline=True) == "two\nlines\tand a tab\\u000d"


def test_readable_text_is_left_as_it_is() -> None:
    text = "Café à 9 h, 日本語, עברית, emoji 🔔, quotes \"'\\"
    assert visible(text) == text
    assert visible(text, multiline=True) == text


def test_a_lone_surrogate_is_shown_not_left_to_break_the_encoder() -> None:
    assert visible("a\udcffb") == "a\\udcffb"
    visible("a\udcffb").encode("utf-8")  # would raise with the surrogate left in


def test_json_passed_through_stays_valid_and_means_the_same() -> None:
    document = json.dumps({"reply": HOSTILE, "name": "日本"}, ensure_ascii=False, indent=2)
    assert "\x9b" in document and "\u202e" in document  # what json.dumps alone would print
    shown = visible(document, multiline=True)
    assert "\x9b" not in shown and "\u202e" not in shown and "\x7f" not in shown
    assert "\\u009b" in shown and "\\u202e" in shown and "日本" in shown
    assert json.loads(shown) == {"reply": HOSTILE, "name": "日本"}


def test_visible_is_idempotent() -> None:
    once = visible(HOSTILE)
    assert visible(once) == once


def test_clean_turns_c0_c1_and_del_into_spaces_and_drops_bidi_controls() -> None:
    assert clean("a\x1bb\x9bc\x85d\x7fe") == "a b c d e"
    # Bidi controls sit inside words: dropped, so that "ab" stays one word.
    assert clean("a\u202eb\u2066c\u2069d\u200fe\u061cf") == "abcdef"
    assert clean("tab\tand\nnewline stay, é and 日本 too") == "tab\tand\nnewline stay, é and 日本 too"
    assert clean(HOSTILE) == "a [8m b 2Jcd "
