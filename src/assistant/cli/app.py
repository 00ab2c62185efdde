"""Kept for code written before `assistant.runtime`: `App` is `assistant.runtime.Assistant`."""

from assistant.runtime import Assistant as App

__all__ = ["App"]
