"""robots.txt policy: rules per site, 4xx allows all, 5xx disallows all (RFC 9309), cached."""

from __future__ import annotations

import httpx

from assistant.services.web.robots import RobotsPolicy

AGENT = "assistant/0.1 (+offline personal assistant)"


class Robots:
    """Serves robots.txt answers and counts how often each was asked for."""

    def __init__(self, answers: dict[str, tuple[int, str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, url: str) -> tuple[int, str]:
        self.asked.append(url)
        return self.answers[url]


def test_rules_for_our_agent_apply_and_are_fetched_once_per_site():
    robots = Robots(
        {
            "https://a.test/robots.txt": (
                200,
                "User-agent: *\nDisallow: /\n\nUser-agent: assistant\nDisallow: /drafts/\nCrawl-delay: 2\n",
            )
        }
    )
    policy = RobotsPolicy(robots, AGENT)
    assert policy.check(httpx.URL("https://a.test/news/1")).allowed
    denied = policy.check(httpx.URL("https://a.test/drafts/x"))
    assert not denied.allowed and "robots.txt" in denied.reason
    assert policy.check(httpx.URL("https://a.test/")).crawl_delay_s == 2.0
    assert robots.asked == ["https://a.test/robots.txt"]


def test_missing_robots_allows_everything_and_a_server_error_allows_nothing():
    robots = Robots({"http://b.test/robots.txt": (404, ""), "http://c.test/robots.txt": (503, "")})
    policy = RobotsPolicy(robots, AGENT)
    assert policy.check(httpx.URL("http://b.test/anything")).allowed
    answer = policy.check(httpx.URL("http://c.test/page"))
    assert not answer.allowed and "503" in answer.reason


def test_rules_are_fetched_again_after_they_expire():
    robots = Robots({"http://d.test/robots.txt": (404, "")})
    policy = RobotsPolicy(robots, AGENT, ttl_s=0.0)
    policy.check(httpx.URL("http://d.test/1"))
    policy.check(httpx.URL("http://d.test/2"))
    assert len(robots.asked) == 2
