"""Where the bundled skills and the default settings are.

In an installed wheel they are package data (`assistant.bundled_skills`, `assistant.defaults`,
mapped from the repository's `skills/` and `config/` folders by `setup.py`); in a checkout
(editable install, or `src` on the path) they are those folders themselves.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _package_folder(package: str, checkout_folder: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return REPO_ROOT / checkout_folder


BUNDLED_SKILLS = _package_folder("assistant.bundled_skills", "skills")
"""The folder holding one folder per bundled skill package."""

DEFAULT_CONFIG = _package_folder("assistant.defaults", "config") / "default.toml"
"""Every setting with its default value and a comment."""
