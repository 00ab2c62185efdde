"""Hostile input, as an attacker would send it: each case gets a clear one-line answer or error,
and the process goes on serving (issue 16).

Cases that already passed when the issue was filed (loopback tricks, redirects to private
addresses) are here too, so that they keep passing.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant.config import NluSettings, WebSettings, load_config
from assistant.errors import ConfigError
from assistant.home import Home
from assistant.nlu import slots, values
from assistant.nlu.understand import Nlu
from assistant.services.reading.passages import split_paragraphs, split_sentences
from assistant.services.web import (
    BlockedAddressError,
    FetchTimeoutError,
    InvalidUrlError,
    UnknownHostError,
    WebService,
    safety,
)
from assistant.skills.catalog import BUNDLED_SKILLS, discover
from assistant.skills.package import EntityDef
from assistant.text import clean, decode, read_line
from conftest import REPO, cli_environ, json_lines, run_cli

# ---------------------------------------------------------------- every way in: decoding, bounds


def run_cli_bytes(*args: str, home: Path, stdin: bytes = b"", env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """`python -m assistant ARGS` with raw bytes on standard input (and in arguments)."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        input=stdin,
        capture_output=True,
        env=cli_environ(home, env),
        timeout=120,
        cwd=REPO,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"caf\xc3\xa9", "café"),
        (b"\xff\xfe x", "\ufffd\ufffd x"),
        (b"half \xe2\x82", "half \ufffd"),  # a character cut in two
        (b"nul\x00 and \x1b[31mescape", "nul  and  [31mescape"),
    ],
)
def test_bytes_decode_with_replacement(raw: bytes, expected: str) -> None:
    assert decode(raw) == expected


def test_escaped_bytes_and_lone_surrogates_become_replacement_characters() -> None:
    from_argv = b"\xff hi \xc3\xa9".decode("utf-8", errors="surrogateescape")
    assert clean(from_argv) == "\ufffd hi é"
    assert clean("a\ud800b") == "a\ufffdb"
    assert clean("tab\tand\nnewline stay") == "tab\tand\nnewline stay"


def test_read_line_bounds_an_endless_line_and_goes_on_with_the_next() -> None:
    stream = io.BytesIO(b"hello\n" + b"x" * 10_000 + b"\n\xff\xfe x\r\n" + "é".encode() * 50 + b"\nlast")
    lines = []
    while (line := read_line(stream, max_chars=20)) is not None:
        lines.append(line)
    assert lines[0] == "hello"
    assert len(lines[1]) == 21  # cut: one more than allowed, so it is refused, not truncated
    assert lines[2] == "\ufffd\ufffd x"
    assert len(lines[3]) == 21  # two bytes a character: still seen as too long
    assert lines[4] == "last"


def test_chat_answers_every_line_around_invalid_utf8(home_dir: Path) -> None:
    result = run_cli_bytes("chat", "--json", home=home_dir, stdin=b"hello\n\xff\xfe x\nwhat can you do\n")
    assert result.returncode == 0, result.stderr.decode()
    turns = json_lines(result.stdout.decode())
    assert [t["text"] for t in turns] == ["hello", "\ufffd\ufffd x", "what can you do"]
    assert [t["action"] for t in turns] == ["greet", "not_understood", "help"]
    assert b"Traceback" not in result.stderr


def test_ask_answers_an_invalid_utf8_argument(home_dir: Path) -> None:
    result = run_cli_bytes("ask", "--json", "\udcff", home=home_dir)  # the bytes b"\xff" on the command line
    assert result.returncode == 0, result.stderr.decode()
    [turn] = json_lines(result.stdout.decode())
    assert turn["text"] == "\ufffd" and turn["reply"]


def test_an_utterance_over_the_bound_is_refused_and_the_chat_goes_on(home_dir: Path) -> None:
    long_line = b"remind me to " + b"a" * 300 + b"\n"
    result = run_cli_bytes(
        "chat",
        "--json",
        home=home_dir,
        stdin=long_line + b"what can you do\n",
        env={"ASSISTANT_GENERAL__MAX_UTTERANCE_CHARS": "200"},
    )
    assert result.returncode == 0, result.stderr.decode()
    refused, answered = json_lines(result.stdout.decode())
    assert (refused["skill"], refused["action"]) == ("system", "too_long")
    assert "200" in refused["reply"] and "\n" not in refused["reply"]
    assert len(refused["text"]) < 100  # the refused text is not echoed back whole
    assert answered["action"] == "help"


def test_a_megabyte_line_is_refused(home_dir: Path) -> None:
    result = run_cli_bytes("chat", "--json", home=home_dir, stdin=b"z" * 1_000_000 + b"\nhello\n")
    assert result.returncode == 0, result.stderr.decode()
    refused, answered = json_lines(result.stdout.decode())
    assert refused["action"] == "too_long" and "100,000" in refused["reply"]
    assert answered["action"] == "greet"


# ---------------------------------------------------------------- settings and the command line


def test_a_config_file_that_is_not_utf8_is_exit_2_naming_the_file(home_dir: Path) -> None:
    (home_dir / "config.toml").write_bytes(b'[general]\nlanguage = "caf\xe9"\n')
    result = run_cli("ask", "hello", home=home_dir)
    assert result.returncode == 2
    assert str(home_dir / "config.toml") in result.stderr and "UTF-8" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(home_dir / "config.toml", environ={})


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("[skills.system]\nclock24h = true\n", r"unknown key 'clock24h' in \[skills.system\]; expected one of: clock_24h"),
        ("[skills.web_scraper]\ncolour = 'red'\n", r"unknown key 'colour' in \[skills.web_scraper\]"),
        ("[skills.system]\nclock_24h = 'yes'\n", r"\[skills.system\] clock_24h: 'yes' is not of type 'boolean'"),
        ("[web]\nallow_private_networks = \"false\"\n", r"\[web\] allow_private_networks: Input should be a valid boolean"),
        ("[runtime]\ntimeout_s = \"10\"\n", r"\[runtime\] timeout_s: Input should be a valid number"),
        ("[general]\nlanguage = \"xx\"\n", r"\[general\] language: no installed skill speaks 'xx'.*installed languages: en"),
        ("[general]\nlanguage = \"english!\"\n", r"\[general\] language: .*a language tag"),
    ],
)
@pytest.mark.parametrize("command", [["ask", "what time is it"], ["config", "show"]])
def test_settings_that_should_not_be_accepted_are_exit_2_naming_file_and_key(
    home_dir: Path, settings: str, expected: str, command: list[str]
) -> None:
    (home_dir / "config.toml").write_text(settings)
    result = run_cli(*command, home=home_dir)
    assert result.returncode == 2, result.stdout + result.stderr
    assert str(home_dir / "config.toml") in result.stderr
    assert re.search(expected, result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_well_typed_skill_settings_are_accepted(home_dir: Path) -> None:
    (home_dir / "config.toml").write_text("[skills.system]\nclock_24h = true\n[web]\nallow_private_networks = false\n")
    result = run_cli("ask", "--json", "what time is it", home=home_dir)
    assert result.returncode == 0, result.stderr
    assert ":" in json_lines(result.stdout)[0]["reply"]
    assert run_cli("config", "show", home=home_dir).returncode == 0


@pytest.mark.parametrize("command", [["skill", "list", "--json"], ["reminders", "list", "--json"], ["config", "show"]])
def test_output_into_a_closed_pipe_ends_quietly(home_dir: Path, command: list[str]) -> None:
    environ = {**os.environ, "ASSISTANT_HOME": str(home_dir), "ASSISTANT_NLU__ENGINE": "lexical"}
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte, as with `| head -c 0`
    try:
        result = subprocess.run(
            [sys.executable, "-m", "assistant", *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=environ,
            cwd=REPO,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr.decode().strip() == ""


# ---------------------------------------------------------------- the web address guard


def reason(text: str) -> str | None:
    return safety.blocked_reason(ipaddress.ip_address(text))


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 of 169.254.169.254
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b:1::a00:1", "private"),  # local-use NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:c0a8:1::1", "private"),  # 6to4 of 192.168.0.1
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
        ("::1", "loopback"),
        ("::", "private"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "cloud metadata"),
        ("0.0.0.0", "private"),
        ("224.0.0.1", "reserved"),
        ("100.100.100.200", "cloud metadata"),
    ],
)
def test_private_targets_in_every_ipv6_form_are_refused(address: str, expected: str) -> None:
    assert expected in (reason(address) or "")


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1"])
def test_public_targets_stay_allowed(address: str) -> None:
    assert reason(address) is None


@pytest.fixture
def strict_web(tmp_path: Path) -> Iterator[WebService]:
    service = WebService(Home(tmp_path), WebSettings(min_interval_s=0, total_timeout_s=3))
    yield service
    service.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.1/",
        "http://0177.0.0.1/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://0/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://[::1]/",
        "http://[::127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://[2002:7f00:1::]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://user:pass@127.0.0.1:8080/",
    ],
)
def test_loopback_and_private_tricks_are_refused_before_connecting(strict_web: WebService, url: str) -> None:
    with pytest.raises((BlockedAddressError, InvalidUrlError, UnknownHostError)) as caught:
        strict_web.read(url)
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".")
    answer = strict_web.fetch(url)  # as a skill sees it: data, not an exception
    assert answer["error"]["code"] in ("blocked_address", "invalid_url", "unknown_host")


@pytest.fixture
def stalled_server() -> Iterator[str]:
    """A server that accepts connections and then never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    release = threading.Event()
    accepted: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(0.2)
        while not release.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    release.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_stalled_server_is_given_up_at_the_total_timeout_not_the_read_timeout(tmp_path: Path, stalled_server: str) -> None:
    settings = WebSettings(
        allow_private_networks=True, min_interval_s=0, read_timeout_s=120, total_timeout_s=1, retries=0
    )
    web = WebService(Home(tmp_path), settings)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(web.fetch(stalled_server)), daemon=True)
    worker.start()
    worker.join(timeout=60)  # far below the 120 s read timeout (and the 2 x 120 s of robots.txt and page)
    web.close()
    assert not worker.is_alive(), "the fetch outlived its total timeout"
    [answer] = outcome
    assert isinstance(answer, dict) and answer["error"]["code"] == FetchTimeoutError.code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://[::1]:8123/", "http://[::1]:8123"),
        ("http://[::1]/page", "http://[::1]/page"),
        ("https://[2001:db8::1]:8443/x?y=1", "https://[2001:db8::1]:8443/x?y=1"),
        ("http://[not-an-address]/", None),
    ],
)
def test_ipv6_literals_are_urls(text: str, expected: str | None) -> None:
    assert values.parse_url(text) == expected


def test_read_an_ipv6_loopback_url_is_understood_and_refused(home_dir: Path) -> None:
    result = run_cli("ask", "--json", "read http://[::1]:8123/", home=home_dir)
    assert result.returncode == 0, result.stderr
    [turn] = json_lines(result.stdout)
    assert (turn["skill"], turn["action"]) == ("web_scraper", "read")
    assert turn["entities"]["url"] == "http://[::1]:8123"
    assert turn["data"]["error"]["code"] == "blocked_address"
    assert json.dumps(turn)  # plain data all through


# ---------------------------------------------------------------- understanding long utterances

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("Europe/London"))
PROSE = "The museum opened in 1901 at 9 am on Monday, 3 December, and it holds 42 old maps. "


@pytest.fixture(scope="module")
def bundled_nlu(tmp_path_factory: pytest.TempPathFactory) -> Nlu:
    catalog = discover([BUNDLED_SKILLS])
    return Nlu(catalog, NluSettings(engine="lexical"), Home(tmp_path_factory.mktemp("home")).ensure())


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every span the aligner hands to a value parser."""
    parsed: list[str] = []
    original = slots.parse_value

    def recording(entity: EntityDef, raw: str, now: datetime) -> object:
        parsed.append(raw)
        return original(entity, raw, now)

    monkeypatch.setattr(slots, "parse_value", recording)
    return parsed


def test_aligning_a_free_text_slot_before_a_typed_one_parses_a_bounded_number_of_spans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = slots.TemplateIndex()
    entities = {"task": EntityDef("task", "wildcard"), "when": EntityDef("when", "datetime")}
    index.add("notes", "remind", ["remind me to {task} {when}"], entities)
    parsed = count_parses(monkeypatch)
    counts = []
    for repeats in (10, 1000):
        parsed.clear()
        [match] = index.match("remind me to " + PROSE * repeats + "tomorrow at 7 pm", NOW)
        assert match.entities["task"].endswith("42 old maps") and match.entities["when"].startswith("2026-03-11T19:00")
        counts.append(len(parsed))
    assert counts[0] == counts[1]  # a hundred times the text, not one parse more


def test_a_hostile_template_gives_up_within_its_steps() -> None:
    index = slots.TemplateIndex()
    index.add("x", "y", ["{a} z {b} z {c} q"], {name: EntityDef(name, "wildcard") for name in "abc"})
    assert index.match("z " * 20_000, NOW) == []  # every "z" could start {b}; there is no "q"


def test_a_value_far_longer_than_any_such_value_is_not_parsed() -> None:
    assert slots.parse_value(EntityDef("when", "datetime"), "tomorrow " * 50_000, NOW) is None
    assert slots.parse_value(EntityDef("n", "number"), "one " * 50_000, NOW) is None
    assert slots.parse_value(EntityDef("t", "wildcard"), "tomorrow " * 3, NOW) == "tomorrow tomorrow tomorrow"


def test_the_entity_scan_reads_only_the_start_of_a_long_text() -> None:
    far = "word " * (slots.MAX_SCAN_CHARS // 5) + "at 7 pm"
    assert slots.scan(far, [EntityDef("when", "datetime")], NOW) == {}
    assert "when" in slots.scan("at 7 pm " + far, [EntityDef("when", "datetime")], NOW)


def test_a_pasted_megabyte_is_read_as_text_whole(bundled_nlu: Nlu) -> None:
    text = PROSE * 12_000
    understood = bundled_nlu.parse("here is some text " + text, NOW)
    assert understood.label == "question_answering.use_text"
    assert understood.entities["text"] == text.strip(" ,.!?")


def test_a_megabyte_of_prose_is_not_understood_and_a_command_after_it_is(bundled_nlu: Nlu) -> None:
    assert bundled_nlu.parse(PROSE * 12_000, NOW).label is None
    assert bundled_nlu.parse("what time is it", NOW).label == "system.time"


def test_a_long_paragraph_is_cut_into_sentences_by_rule() -> None:
    paragraph = PROSE * 2_000  # one paragraph of 170 kB, as pasted text often is
    sentences = split_sentences(split_paragraphs(paragraph))
    assert len(sentences) == 2_000
    assert sentences[1].text == PROSE.strip()

