"""Which services exist and how each is built from the app's home and settings.

Heavy libraries are imported inside the factories, on first use.
"""

from __future__ import annotations

from typing import Any

from assistant.services.registry import LazyServices


def register_all(services: LazyServices, app: Any) -> None:
    """Add every service factory to `services`."""

    def encoder() -> Any:
        return app.encoder()

    def music() -> Any:
        from assistant.services.music import MusicService

        return MusicService(app.home, app.settings.music, app.mixer())

    def web() -> Any:
        from assistant.services.web import WebService

        return WebService(app.home, app.settings.web)

    def documents() -> Any:
        from assistant.services.reading.documents import Documents

        return Documents(app.home, app.settings.question_answering)

    def qa() -> Any:
        from assistant.services.reading.textqa import QuestionAnswerer

        return QuestionAnswerer(app.home, app.settings.question_answering, services["encoder"])

    def summarizer() -> Any:
        from assistant.services.reading.summarize import Summarizer

        return Summarizer(app.home, app.settings.summarization, services["encoder"])

    def scheduler() -> Any:
        from assistant.services.scheduler import SchedulerService

        return SchedulerService(
            app.home,
            app.settings.scheduler,
            deliver=app.deliver,
            run_action=lambda skill, action, payload: app.brain().run_scheduled(skill, action, payload),
        )

    services.add("encoder", encoder)
    services.add("scheduler", scheduler)
    services.add("music", music)
    services.add("web", web)
    services.add("documents", documents)
    services.add("qa", qa)
    services.add("summarizer", summarizer)


def start_background(app: Any) -> None:
    """Start the services that work unasked: the scheduler announces what it missed, then runs jobs."""
    app.services()["scheduler"].start()
