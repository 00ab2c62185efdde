"""The one folder that holds every byte the assistant writes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "ASSISTANT_HOME"


@dataclass(frozen=True)
class Home:
    """Paths under the assistant's home folder.

    Every part of the assistant receives a `Home` and writes only below `root`.
    """

    root: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Home:
        """`$ASSISTANT_HOME` when set, otherwise the platform's user data folder."""
        env = os.environ if environ is None else environ
        value = env.get(HOME_ENV)
        if value:
            return cls(Path(value).expanduser().resolve())
        import platformdirs

        return cls(Path(platformdirs.user_data_dir("assistant", appauthor=False)))

    def ensure(self) -> Home:
        """Create the folder tree (idempotent) and return self."""
        for path in (self.root, self.data, self.models, self.cache, self.logs, self.skills):
            path.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def config_file(self) -> Path:
        """The user's overrides of `config/default.toml`."""
        return self.root / "config.toml"

    @property
    def data(self) -> Path:
        """SQLite databases, one per concern (skill memory, music, scheduler, web cache)."""
        return self.root / "data"

    @property
    def models(self) -> Path:
        """Trained classifiers and downloaded speech models."""
        return self.root / "models"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def skills(self) -> Path:
        """Skill packages the user installed (bundled ones live in the source tree)."""
        return self.root / "skills"

    @property
    def history_file(self) -> Path:
        """The chat's input history, kept across sessions."""
        return self.root / "chat_history"

    def database(self, name: str) -> Path:
        """Path of the SQLite file for one concern, e.g. `database("music")`."""
        return self.data / f"{name}.sqlite3"


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs: a pid left in a file under the home may be stale."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True
