"""The services skills may use, built on first use so start-up stays fast.

Each entry is a factory; `Services[name]` builds the service once and keeps it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

log = logging.getLogger(__name__)

Factory = Callable[[], Any]


class LazyServices(Mapping[str, Any]):
    """A mapping of service name -> object, each made by its factory when first asked for."""

    def __init__(self, factories: Mapping[str, Factory]):
        self._factories = dict(factories)
        self._built: dict[str, Any] = {}
        self._lock = threading.RLock()

    def __getitem__(self, name: str) -> Any:
        with self._lock:
            if name not in self._built:
                if name not in self._factories:
                    raise KeyError(name)
                self._built[name] = self._factories[name]()
                log.debug("service %s started", name)
            return self._built[name]

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    def add(self, name: str, factory: Factory) -> None:
        with self._lock:
            self._factories[name] = factory
            self._built.pop(name, None)

    def built(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._built)

    def close(self) -> None:
        """Stop services that have a `shutdown` or `close` method."""
        for name, service in self.built().items():
            stop = getattr(service, "shutdown", None) or getattr(service, "close", None)
            if callable(stop):
                try:
                    stop()
                except Exception as error:  # shutting down: log and go on
                    log.warning("service %s did not stop cleanly: %s", name, error)


class CatalogService:
    """Lets skills ask which skills are installed (the system skill's "what can you do")."""

    def __init__(self, catalog: Any):
        self._catalog = catalog

    def describe(self) -> list[dict[str, Any]]:
        """Each skill with one real example sentence (slots filled), for "what can you do"."""
        from assistant.nlu.samples import example

        result = []
        for skill in self._catalog.skills.values():
            examples = self._catalog.entity_examples(skill)
            actions = [
                a
                for a in skill.actions.values()
                if a.samples and not a.internal and not a.follow_up
            ]
            said = next((example(a.samples, examples) for a in actions), "")
            result.append(
                {
                    "id": skill.id,
                    "name": skill.name,
                    "description": skill.description,
                    "example": said,
                }
            )
        return result
