"""The three skills end to end: `assistant chat --json` against a local web site, and the page watch."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from assistant.config import QuestionAnsweringSettings, SchedulerSettings, WebSettings
from assistant.home import Home
from assistant.services.reading.documents import Documents
from assistant.services.scheduler import SchedulerService
from assistant.services.web import WebService
from assistant.skills.memory import SqliteMemory
from assistant.skills.sdk import Answers, Context, Request
from conftest import json_lines, run_cli
from fixtures.web.site import SiteState, serve

SKILLS = Path(__file__).resolve().parents[1] / "skills"
WEB_ENV = {
    "ASSISTANT_WEB__ALLOW_PRIVATE_NETWORKS": "true",
    "ASSISTANT_WEB__MIN_INTERVAL_S": "0",
    "ASSISTANT_WEB__READ_TIMEOUT_S": "0.5",
    "ASSISTANT_WEB__TOTAL_TIMEOUT_S": "3",
    "ASSISTANT_WEB__MAX_BYTES": "200000",
}


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, SiteState]]:
    with serve() as running:
        yield running


def chat(lines: list[str], home: Path, **env: str) -> list[dict[str, Any]]:
    """Turns (not progress events) of one `assistant chat --json` session, checked for tracebacks."""
    result = run_cli(
        "chat",
        "--json",
        home=home,
        stdin="\n".join(lines) + "\n",
        env={**WEB_ENV, **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr, result.stderr
    events = json_lines(result.stdout)
    turns = [event for event in events if "event" not in event]
    assert [turn["text"] for turn in turns] == lines
    progress = [event["text"] for event in events if event.get("event") == "progress"]
    for turn in turns:
        turn["progress"] = progress
    return turns


FAILURES = {
    "/slow": "too long",
    "/huge": "too big",
    "/image.png": "not a web page",
    "/loop-a": "keeps redirecting",
    "/private/secret": "robots.txt",
    "/missing.html": "404",
}
PASTED = (
    "here is some text: The village fete is organised by Margaret Ellis. "
    "It takes place on 21 June on the green behind the church."
)
TO_SUMMARISE = (
    "summarise this text: The library will close for repairs in March. The roof has leaked since "
    "the storm in January. Books can be returned at the town hall while the library is closed. "
    "It should reopen in May."
)


@pytest.fixture(scope="module")
def session(site, tmp_path_factory) -> dict[str, dict[str, Any]]:
    """One `assistant chat --json` conversation through every flow (one model load); turns by text."""
    base, _ = site
    notes = tmp_path_factory.mktemp("notes")
    (notes / "car.md").write_text(
        "The car's next service is due on 14 October 2026 at Hill Street Garage.", encoding="utf-8"
    )
    lines = [
        f"read {base}/bridge.html",
        "what's the title",
        "list the links",
        "read me the first paragraph",
        "next paragraph",
        "when was it built",
        "who designed the bridge",
        "who won the football world cup",
        "summarise this page in one sentence",
        "summarise the page",
        f"summarise {base}/lighthouse.html in two sentences",
        "how tall is the tower",
        *[f"read {base}{path}" for path in FAILURES],
        "open ftp://example.com/file.txt",
        "what can I cook with eggs",
        f"read {base}/latin1.html",
        "when did it open",
        PASTED,
        "who organises the fete",
        "what will take place behind the church",
        TO_SUMMARISE,
        "check my notes for when is the car service due",
    ]
    home = tmp_path_factory.mktemp("home")
    turns = chat(lines, home, ASSISTANT_QUESTION_ANSWERING__NOTES_FOLDER=str(notes))
    return {turn["text"]: turn for turn in turns}


def test_read_a_page_then_its_title_links_and_paragraphs(session, site):
    base, _ = site
    read = session[f"read {base}/bridge.html"]
    assert (read["skill"], read["action"]) == ("web_scraper", "read")
    assert read["data"]["title"] == "The Kelder Bridge: a history"
    assert any("Reading" in text for text in read["progress"])  # said before the page arrived
    assert "The Kelder Bridge" in session["what's the title"]["reply"]
    assert "https://archive.example.org/kelder" in session["list the links"]["reply"]
    assert session["read me the first paragraph"]["data"]["index"] == 0
    assert session["next paragraph"]["data"]["index"] == 1


def test_questions_about_the_page_get_short_answers_that_name_the_source(session):
    built = session["when was it built"]
    assert built["action"] == "ask" and built["data"]["answer"] == "1871"
    assert "The Kelder Bridge: a history" in built["speech"] and len(built["reply"]) < 80
    assert session["who designed the bridge"]["data"]["answer"] == "Thomas Albright"
    unknown = session["who won the football world cup"]["reply"]
    assert "don't know" in unknown or "not sure" in unknown


def test_summaries_are_short_when_spoken_and_free_of_page_furniture(session, site):
    base, _ = site
    one = session["summarise this page in one sentence"]
    assert one["action"] == "summarize" and len(one["data"]["sentences"]) == 1
    assert one["speech"].startswith("The Kelder Bridge is a stone arch bridge")
    full = session["summarise the page"]
    assert len(full["data"]["sentences"]) == 3 and len(full["speech"]) < len(full["reply"])
    assert "cookie" not in full["reply"].lower() and "copyright" not in full["reply"].lower()
    other = session[f"summarise {base}/lighthouse.html in two sentences"]
    assert other["data"]["title"] == "Gullrock Lighthouse" and len(other["data"]["sentences"]) == 2
    assert session["how tall is the tower"]["data"]["answer"] == "38 metres"  # it became current


def test_every_failure_gets_a_clear_answer(session, site):
    base, _ = site
    for path, words in FAILURES.items():
        turn = session[f"read {base}{path}"]
        assert turn["action"] == "read" and words in turn["reply"], turn
        assert turn["speech"] and "error" in turn["data"]
    invalid = session["open ftp://example.com/file.txt"]
    assert invalid["skill"] == "web_scraper" and "http and https" in invalid["reply"]
    latin = session[f"read {base}/latin1.html"]
    assert latin["data"]["title"] == "Café Müller in Zürich" and "Café Müller" in latin["reply"]
    assert session["when did it open"]["data"]["answer"] == "1924"


def test_pasted_text_and_notes_answer_with_their_source(session):
    kept = session[PASTED]
    assert (kept["skill"], kept["action"]) == ("question_answering", "use_text")
    who = session["who organises the fete"]
    assert who["data"]["answer"] == "Margaret Ellis" and "the text you gave me" in who["speech"]
    # Phrased too openly to be taken as a question about a text out of context, but right
    # after one it is ("What would you like to know?" it asked before).
    what = session["what will take place behind the church"]
    assert what["action"] == "ask_more" and what["data"]["found"], what["reply"]
    cook = session["what can I cook with eggs"]  # after the web scraper failed: no text in play
    assert cook["skill"] != "question_answering", cook
    summary = session[TO_SUMMARISE]
    assert summary["action"] == "summarize" and summary["data"]["method"] == "extractive"
    assert summary["data"]["sentences"][0].startswith(
        "The library will close for repairs in March."
    )
    from_notes = session["check my notes for when is the car service due"]
    assert from_notes["action"] == "ask_notes" and from_notes["data"]["answer"] == "14 October 2026"
    assert "car" in from_notes["speech"]


def test_loopback_is_refused_when_private_networks_are_not_allowed(home_dir, site):
    base, _ = site
    [turn] = chat(
        [f"read {base}/bridge.html"], home_dir, ASSISTANT_WEB__ALLOW_PRIVATE_NETWORKS="false"
    )
    assert turn["data"]["error"]["code"] == "blocked_address"
    assert "inside your own network" in turn["speech"]


# -- the page watch, run in process as the scheduler runs it ------------------------------


def action(skill: str, name: str) -> ModuleType:
    """Loaded like the skill worker loads it: the skill folder on sys.path."""
    for folder in (SKILLS / skill / "actions", SKILLS / skill):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(
        f"skill_{skill}.{name}", SKILLS / skill / "actions" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def services(tmp_path) -> Iterator[SimpleNamespace]:
    home = Home(tmp_path).ensure()
    web = WebService(home, WebSettings(allow_private_networks=True, min_interval_s=0))
    scheduler = SchedulerService(home, SchedulerSettings(), deliver=lambda note: None)
    yield SimpleNamespace(
        web=web,
        documents=Documents(home, QuestionAnsweringSettings()),
        scheduler=scheduler,
        home=home,
    )
    scheduler.shutdown()
    web.close()


def request_for(
    services: SimpleNamespace, name: str, utterance: str, entities: dict[str, Any]
) -> Request:
    locale = json.loads(
        (SKILLS / "web_scraper" / "locales" / "en.json").read_text(encoding="utf-8")
    )
    return Request(
        utterance=utterance,
        skill="web_scraper",
        action=name,
        entities=entities,
        settings={"watch_interval_minutes": 15, "links_spoken": 5},
        locale="en",
        memory=SqliteMemory(services.home.data / "web_scraper_memory.sqlite3"),
        context=Context(),
        services=services,
        answers=Answers(locale["answers"]),
        skill_dir=str(SKILLS / "web_scraper"),
        data_dir=str(services.home.data),
    )


def test_watch_schedules_a_check_that_announces_only_a_change(services, site):
    base, state = site
    url = f"{base}/changing"
    watched = action("web_scraper", "watch").run(
        request_for(services, "watch", f"watch {url}", {"url": url})
    )
    assert "every 15 minutes" in watched.text
    [job] = services.scheduler.jobs("web_scraper")
    assert job["payload"]["action"] == "check_watch" and job["payload"]["action_payload"] == {
        "url": url
    }

    check = action("web_scraper", "check_watch")
    entities = job["payload"]["action_payload"]
    quiet = check.run(request_for(services, "check_watch", "", entities))
    assert quiet.text == "" and quiet.data["changed"] is False

    state.changing_text = "The second version of the notice says the pool now opens at eight."
    changed = check.run(request_for(services, "check_watch", "", entities))
    assert changed.data["changed"] is True
    assert "Notice board has changed" in changed.text and "opens at eight" in changed.text
    again = check.run(request_for(services, "check_watch", "", entities))
    assert again.text == ""

    listed = action("web_scraper", "list_watches").run(
        request_for(services, "list_watches", "which pages are you watching", {})
    )
    assert "Notice board" in listed.text
    stopped = action("web_scraper", "unwatch").run(
        request_for(services, "unwatch", f"stop watching {url}", {"url": url})
    )
    assert "stopped watching" in stopped.text or "no more checks" in stopped.text
    assert services.scheduler.jobs("web_scraper") == []


def test_a_redirect_to_a_private_address_is_answered_through_the_brain(home_dir, site, monkeypatch):
    """The whole path but the command line, in process, so that the test server can pass for public."""
    from assistant.config import load_config
    from assistant.runtime import Assistant
    from assistant.services.web import safety

    base, state = site
    state.redirect_target = "http://169.254.169.254/latest/meta-data/"
    original = safety.blocked_reason
    loopback = safety.ipaddress.ip_address("127.0.0.1")
    monkeypatch.setattr(safety, "blocked_reason", lambda a: None if a == loopback else original(a))
    home = Home(home_dir).ensure()
    home.config_file.write_text("[web]\nmin_interval_s = 0\n", encoding="utf-8")
    app = Assistant(home, load_config(home.config_file, environ={"ASSISTANT_NLU__ENGINE": "lexical"}))
    try:
        turn = app.open_session().handle(f"read {base}/to-private").to_json()
    finally:
        app.close()
    assert turn["action"] == "read" and turn["data"]["error"]["code"] == "blocked_address"
    assert "cloud metadata" in turn["reply"] and "inside your own network" in turn["speech"]


def test_a_watch_through_the_brain_and_its_scheduled_check(home_dir, site):
    """ "watch <url>" stores a scheduler job; the job's call (`run_scheduled`) announces a change once."""
    from assistant.config import load_config
    from assistant.runtime import Assistant

    base, state = site
    state.changing_text = "The first version of the notice says the pool opens at nine."
    home = Home(home_dir).ensure()
    home.config_file.write_text(
        "[web]\nallow_private_networks = true\nmin_interval_s = 0\n", encoding="utf-8"
    )
    app = Assistant(home, load_config(home.config_file, environ={"ASSISTANT_NLU__ENGINE": "lexical"}))
    try:
        brain = app.brain()
        session = app.open_session()
        turn = session.handle(f"watch {base}/changing and tell me when it changes").to_json()
        assert turn["action"] == "watch" and "every 30 minutes" in turn["reply"]
        [job] = app.services()["scheduler"].jobs("web_scraper")
        assert job["payload"]["action"] == "check_watch"
        entities = job["payload"]["action_payload"]
        unchanged = brain.run_scheduled("web_scraper", "check_watch", entities)
        assert unchanged is not None and unchanged.text == ""  # an empty reply is not delivered
        state.changing_text = "The notice now says the pool opens at eight from Monday."
        changed = brain.run_scheduled("web_scraper", "check_watch", entities)
        assert changed is not None and "Notice board has changed" in changed.text
        assert "opens at eight" in changed.spoken
        stopped = session.handle(f"stop watching {base}/changing").to_json()
        assert (
            stopped["action"] == "unwatch" and app.services()["scheduler"].jobs("web_scraper") == []
        )
    finally:
        app.close()
