"""Benchmark of the web skills' services on a local corpus: fetch + extract, QA, summaries.

Prints: fetch + extract throughput (pages per second, from a local HTTP server),
QA and summary latency on a 2,000-word page (p50 / p90, cold = a page not seen
before, warm = a follow-up on the same page), and the QA exact-answer rate on
tests/fixtures/web/qa_table.json.

    .venv/bin/python scripts/bench_web.py [--runs 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from assistant.config import QuestionAnsweringSettings, SummarizationSettings, WebSettings  # noqa: E402
from assistant.home import Home  # noqa: E402
from assistant.services.reading.summarize import Summarizer  # noqa: E402
from assistant.services.reading.textqa import QuestionAnswerer  # noqa: E402
from assistant.services.web import WebService  # noqa: E402
from assistant.services.web.extract import extract  # noqa: E402
from fixtures.web.site import serve  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "web"
TOWNS = [
    "Ashford",
    "Bramley",
    "Calder",
    "Dunmore",
    "Eastwick",
    "Fenton",
    "Glenrock",
    "Harwell",
    "Ivybridge",
    "Kelso",
]
THINGS = [
    "library",
    "market hall",
    "railway station",
    "town hall",
    "school",
    "harbour",
    "museum",
    "bridge",
    "theatre",
    "mill",
]
PEOPLE = [
    "Anne Porter",
    "Brian Hale",
    "Clara Voss",
    "David Kerr",
    "Emma Lund",
    "Frank Moss",
    "Grace Lee",
    "Henry Pike",
]


def long_article(seed: int, words: int = 2000) -> tuple[str, list[tuple[str, str]]]:
    """A ~2,000-word HTML article with page furniture, and (question, answer) pairs about it."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    facts: list[tuple[str, str]] = []
    count = 0
    while count < words:
        town, thing, person = rng.choice(TOWNS), rng.choice(THINGS), rng.choice(PEOPLE)
        year, cost, visitors = rng.randint(1820, 2020), rng.randint(2, 90), rng.randint(200, 9000)
        sentences = [
            f"The {thing} of {town} was opened in {year} after years of debate in the council ({seed}-{count}).",
            f"It was designed by {person}, who also planned several buildings along the river in {town}.",
            f"The project cost {cost} thousand pounds, a large sum for a town of its size at the time.",
            f"Today about {visitors:,} people visit the {thing} every month, most of them on weekends.",
            f"Local historians still argue about whether the {thing} was built in the right place, near the old {rng.choice(THINGS)}.",
        ]
        paragraphs.append(" ".join(sentences))
        facts.append((f"When was the {thing} of {town} opened?", str(year)))
        count += sum(len(s.split()) for s in sentences)
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    html = (
        "<html><head><title>Civic buildings of the valley</title></head><body>"
        "<div class='cookie-banner'>We use cookies. <button>Accept</button></div>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>Civic buildings of the valley</h1>{body}</article>"
        "<footer>Copyright 2024 Valley Times</footer></body></html>"
    )
    return html, facts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_fetch(home: Home, pages: int) -> tuple[float, float]:
    """Pages per second: fresh fetches, then conditional re-fetches answered 304 from the cache."""
    names = ["bridge.html", "lighthouse.html", "cooperative.html", "latin1.html"]
    settings = WebSettings(allow_private_networks=True, min_interval_s=0)
    with serve() as (base, _):
        web = WebService(home, settings)
        web.fetch(f"{base}/bridge.html")  # import trafilatura, read robots.txt
        started = time.perf_counter()
        for i in range(pages):
            page = web.fetch(f"{base}/{names[i % len(names)]}?n={i}")
            assert "error" not in page, page
        fresh = pages / (time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(pages):
            web.fetch(f"{base}/{names[i % len(names)]}?n={i}")
        cached = pages / (time.perf_counter() - started)
        web.close()
    return fresh, cached


def bench_qa_and_summary(home: Home, runs: int) -> dict[str, list[tuple[float, float]]]:
    """(wall seconds, CPU seconds) per call; every run uses pages never seen before."""
    from assistant.nlu.encoder import Encoder

    encoder = Encoder()
    encoder.encode(["warm up"])
    qa = QuestionAnswerer(home, QuestionAnsweringSettings(), encoder)
    summarizer = Summarizer(home, SummarizationSettings(), encoder)
    times: dict[str, list[tuple[float, float]]] = {
        "qa_cold": [],
        "qa_followup": [],
        "summary_cold": [],
        "summary_followup": [],
        "qa_after_read": [],
    }
    for run in range(runs):
        document, facts = _page(run)
        times["qa_cold"].append(_timed(qa.answer, facts[len(facts) // 2][0], [document]))
        times["qa_followup"].append(_timed(qa.answer, facts[-1][0], [document]))
        other, _ = _page(1000 + run)
        times["summary_cold"].append(_timed(summarizer.summarize, other["text"], 3, other["title"]))
        times["summary_followup"].append(
            _timed(summarizer.summarize, other["text"], 1, other["title"])
        )
        # "read <url>" prepares the page in the background; the user then asks
        third, questions = _page(2000 + run)
        qa.prepare(third["text"])
        times["qa_after_read"].append(_timed(qa.answer, questions[0][0], [third]))
    return times


def _timed(call: object, *args: object) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call(*args)  # type: ignore[operator]
    return time.perf_counter() - wall, time.process_time() - cpu


def _page(seed: int) -> tuple[dict[str, str], list[tuple[str, str]]]:
    html, facts = long_article(seed)
    content = extract(html.encode(), "text/html", f"http://bench.test/{seed}")
    return {
        "text": "\n\n".join(content.paragraphs),
        "source": "bench",
        "title": content.title,
    }, facts


def bench_exact_answers(home: Home) -> tuple[int, int, list[str]]:
    from assistant.nlu.encoder import Encoder

    table = json.loads((FIXTURES / "qa_table.json").read_text(encoding="utf-8"))
    qa = QuestionAnswerer(home, QuestionAnsweringSettings(), Encoder())
    documents = {}
    misses = []
    for row in table["questions"]:
        if row["page"] not in documents:
            content = extract(
                (FIXTURES / row["page"]).read_bytes(),
                "text/html",
                f"http://pages.test/{row['page']}",
            )
            documents[row["page"]] = {
                "text": "\n\n".join(content.paragraphs),
                "source": row["page"],
            }
        answer = qa.answer(row["question"], [documents[row["page"]]])["answer"]
        if _normalise(answer) not in {_normalise(a) for a in row["answers"]}:
            misses.append(f"{row['question']} -> {answer!r}")
    return len(table["questions"]) - len(misses), len(table["questions"]), misses


def _normalise(text: str) -> str:
    words = re.sub(r"[^\w\s]", "", text.lower()).split()
    return " ".join(word for word in words if word not in ("a", "an", "the"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=10, help="2,000-word pages to time (default 10)"
    )
    parser.add_argument(
        "--pages", type=int, default=40, help="pages to fetch for throughput (default 40)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads, i.e. cores (default 2)"
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    home = Home(Path(tempfile.mkdtemp(prefix="bench-web-")))
    fresh, cached = bench_fetch(home, args.pages)
    print(
        f"fetch + extract, fixture pages (2-3 kB): {fresh:.1f} pages/s fresh, "
        f"{cached:.1f} pages/s revalidated (304) [{args.pages} pages]"
    )
    pages = [long_article(seed)[0].encode() for seed in range(args.pages)]
    started = time.perf_counter()
    for number, html in enumerate(pages):
        extract(html, "text/html", f"http://bench.test/{number}")
    rate = len(pages) / (time.perf_counter() - started)
    print(f"extract only, 2,000-word pages (~{len(pages[0]) // 1000} kB): {rate:.1f} pages/s")
    times = bench_qa_and_summary(home, args.runs)
    words = len(
        re.findall(
            r"\w+", " ".join(extract(long_article(0)[0].encode(), "text/html", "x").paragraphs)
        )
    )
    print(
        f"2,000-word page ({words} words of main text), {args.runs} pages, torch threads={args.threads}:"
    )
    for name, values in times.items():
        wall = [w for w, _ in values]
        cpu = [c for _, c in values]
        print(
            f"  {name:<17} p50 {statistics.median(wall):.3f} s  p90 {percentile(wall, 0.9):.3f} s"
            f"  (CPU p50 {statistics.median(cpu):.3f} s)"
        )
    print(
        f"  machine load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    right, total, misses = bench_exact_answers(home)
    print(
        f"QA exact answers: {right}/{total} = {right / total:.0%} on tests/fixtures/web/qa_table.json"
    )
    for miss in misses:
        print(f"  miss: {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
