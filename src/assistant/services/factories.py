"""Which services exist and how each is built from the app's home and settings.

Heavy libraries are imported inside the factories, on first use.
"""

from __future__ import annotations

from typing import Any

from assistant.services.registry import LazyServices


def register_all(services: LazyServices, app: Any) -> None:
    """Add every service factory to `services`."""

    def encoder() -> Any:
        from assistant.nlu.encoder import Encoder

        return Encoder(app.settings.nlu.model)

    services.add("encoder", encoder)


def start_background(app: Any) -> None:
    """Start services that must run without being asked (none yet)."""
