#!/usr/bin/env python
"""How other people's timer, alarm, clock and music requests reach our actions (CLINC150).

CLINC150's queries were written by crowd workers for 150 intents; the ones of timers,
alarms, reminders, the time, the date, music and volume are said to the assistant's
understanding stage (the default transformer classifier, as `chat` uses it), and the table
shows, per intent, the share that reached one of our matching actions and the share not
understood. Smart-home and weather queries, which no skill handles, should be not
understood. Data: ../shared/datasets/intents/clinc150 (the script exits 0 without it).

    .venv/bin/python scripts/bench_timers.py [--home DIR]
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

from assistant.home import Home
from assistant.nlu import benchmark
from assistant.runtime import Assistant

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "intents" / "clinc150"
TIMER = {
    "set_timer",
    "time_left",
    "add_time",
    "remove_time",
    "pause_timer",
    "resume_timer",
    "cancel",
    "cancel_all",
    "list",
}
EXPECTED: dict[str, set[str] | None] = {
    "timer": {f"reminders.{a}" for a in TIMER},
    "alarm": {f"reminders.{a}" for a in ("set_alarm", "list", "cancel", "stop_alarm", "snooze")},
    "reminder_update": {"reminders.set_reminder"},
    "reminder": {"reminders.list", "reminders.set_reminder"},
    "time": {"system.time"},
    "date": {"system.date"},
    "next_song": {"music_player.next"},
    "play_music": {"music_player.play", "music_player.play_all", "music_player.play_playlist"},
    "change_volume": {
        f"music_player.{a}" for a in ("volume_up", "volume_down", "set_volume", "mute")
    },
    "smart_home": None,
    "weather": None,
}
"""CLINC150 intent -> the actions of ours that do it; None: no skill does it (not understood is right)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home",
        type=Path,
        default=Path("/tmp/assistant-bench-timers"),
        help="assistant home whose trained classifier is reused between runs",
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"no CLINC150 data at {DATA}; nothing to measure")
        return 0
    logging.basicConfig(level=logging.WARNING)
    rows = benchmark.read_examples(DATA / "test.csv") + benchmark.read_examples(DATA / "val.csv")
    queries = [(text, label.strip()) for text, label in rows if label.strip() in EXPECTED]
    assistant = Assistant.from_home(
        Home(args.home), environ={"ASSISTANT_NLU__ENGINE": "transformer"}
    )
    nlu = assistant.nlu()
    right, rejected, total, wrong = Counter(), Counter(), Counter(), Counter()
    now = datetime.now().astimezone()
    for text, label in queries:
        understood = nlu.parse(text, now)
        total[label] += 1
        expected = EXPECTED[label]
        if understood.label is None:
            rejected[label] += 1
            right[label] += expected is None
        elif expected is not None and understood.label in expected:
            right[label] += 1
        else:
            wrong[(label, understood.label)] += 1
    print(f"| CLINC150 intent | queries | right | not understood | engine: {nlu.engine} |")
    print("|---|---|---|---|---|")
    for label in EXPECTED:
        share = right[label] / total[label] if total[label] else 0.0
        print(
            f"| {label} | {total[label]} | {share:.0%} | {rejected[label] / max(1, total[label]):.0%} | |"
        )
    print("\nmost frequent wrong actions:")
    for (label, got), count in wrong.most_common(8):
        print(f"  {label} -> {got}: {count}")
    assistant.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
