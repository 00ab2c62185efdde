"""The contract every intent classifier implements (transformer, lexical, TF-IDF)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

__all__ = ["IntentClassifier", "Progress", "OUT_OF_SCOPE"]

Progress = Callable[[float, str], None]
"""Reports training progress: (fraction done in [0, 1], what is happening)."""

OUT_OF_SCOPE = "oos"
"""The label that benchmark data uses for queries no intent covers."""


@runtime_checkable
class IntentClassifier(Protocol):
    """Learns intents from labelled sentences and ranks them for a new one."""

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        progress: Progress | None = None,
    ) -> None:
        """Train on `texts` with their `labels` ("skill.action")."""
        ...

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Every known label, best first, with a calibrated score in [0, 1]."""
        ...
