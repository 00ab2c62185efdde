"""The assembled assistant for one command: home, settings, and lazily the skills, services and brain."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.config import LoadedConfig, Settings
from assistant.errors import ConfigError
from assistant.home import Home
from assistant.nlu.base import Progress
from assistant.services.registry import CatalogService, LazyServices
from assistant.skills.catalog import BUNDLED_SKILLS, Catalog, discover
from assistant.skills.package import SkillPackage

log = logging.getLogger(__name__)


class App:
    """Everything a command may need, built on first use."""

    def __init__(self, home: Home, config: LoadedConfig):
        self.home = home
        self.config = config
        self._catalog: Catalog | None = None
        self._services: LazyServices | None = None
        self._runner: Any = None
        self._brain: Any = None
        self._encoder: Any = None
        self.notices: list[str] = []
        self.on_say: Callable[[str], None] | None = None
        self.on_notification: Callable[[Any], None] | None = None

    @property
    def settings(self) -> Settings:
        return self.config.settings

    def skill_roots(self) -> list[Path]:
        extra = [Path(p).expanduser() for p in self.settings.runtime.extra_paths]
        return [BUNDLED_SKILLS, self.home.skills, *extra]

    def catalog(self) -> Catalog:
        if self._catalog is None:
            from assistant.skills.runner import DisabledSkills

            disabled = set(self.settings.runtime.disabled)
            disabled |= DisabledSkills(self.home.data / "disabled_skills.json").load()
            from assistant.skills.entrypoints import skill_folders

            self._catalog = discover(
                self.skill_roots(),
                self.settings.general.language,
                disabled,
                folders=skill_folders(),
            )
            self._check_skill_settings(self._catalog)
        return self._catalog

    def reload_catalog(self) -> Catalog:
        self._catalog = None
        return self.catalog()

    def _check_skill_settings(self, catalog: Catalog) -> None:
        import jsonschema

        for skill_id, values in self.settings.skills.items():
            skill = catalog.get(skill_id)
            if skill is None:
                log.warning("[skills.%s] in the configuration names no installed skill", skill_id)
                continue
            schema = skill.manifest.get("settings") or {"type": "object"}
            try:
                jsonschema.validate(values, schema)
            except jsonschema.ValidationError as error:
                where = ".".join(str(p) for p in error.absolute_path) or "(table)"
                origin = self.config.sources.get(f"skills.{skill_id}.{where}", "configuration")
                raise ConfigError(
                    f"{origin}: [skills.{skill_id}] {where}: {error.message}"
                ) from None

    def skill_settings(self, skill: SkillPackage) -> dict[str, Any]:
        """Manifest defaults, then a global section named after the skill, then `[skills.<id>]`."""
        values = skill.default_settings()
        section = getattr(self.settings, skill.id, None)
        if section is not None and hasattr(section, "model_dump"):
            values.update(section.model_dump())
        values.update(self.config.skill_settings(skill.id))
        return values

    def services(self) -> LazyServices:
        if self._services is None:
            from assistant.services import factories

            self._services = LazyServices({"catalog": lambda: CatalogService(self.catalog())})
            factories.register_all(self._services, self)
        return self._services

    def runner(self) -> Any:
        if self._runner is None:
            from assistant.skills.runner import SkillRunner

            self._runner = SkillRunner(
                self.home,
                self.services(),
                timeout_s=self.settings.runtime.timeout_s,
                max_failures=self.settings.runtime.max_failures,
            )
        return self._runner

    def encoder(self) -> Any:
        """The sentence encoder shared by the intent classifier and the skills' services."""
        if self._encoder is None:
            from assistant.nlu.encoder import Encoder, onnx_folder

            model = self.settings.nlu.model
            self._encoder = Encoder(model, onnx_dir=onnx_folder(self.home.models, model))
        return self._encoder

    def nlu(self, progress: Progress | None = None) -> Any:
        from assistant.nlu.understand import Nlu

        return Nlu(
            self.catalog(),
            self.settings.nlu,
            self.home,
            progress=progress,
            on_notice=self.notices.append,
            encoder=self.encoder() if self.settings.nlu.engine == "transformer" else None,
        )

    def brain(self, progress: Progress | None = None) -> Any:
        if self._brain is None:
            from assistant.brain import Brain

            self._brain = Brain(
                self.catalog(),
                self.nlu(progress),
                self.runner(),
                self.skill_settings,
                language=self.settings.general.language,
                max_utterance_chars=self.settings.general.max_utterance_chars,
                on_say=lambda text: self.on_say(text) if self.on_say else None,
            )
        return self._brain

    def deliver(self, notification: Any) -> None:
        """Hand a notification (reminder, page change...) to whoever shows or speaks it."""
        if self._brain is not None:
            self._brain.notified(notification.skill)
        if self.on_notification is not None:
            self.on_notification(notification)
        else:
            log.warning(
                "notification with nobody to show it: %s",
                getattr(notification, "text", notification),
            )

    def start_background(self) -> None:
        """Start the services that work on their own (the scheduler), once the output is ready.

        Also the skills' worker processes, in the background: a conversation (chat, listening)
        has time for that, and then no skill's first answer waits for its worker to start.
        """
        from assistant.services import factories

        factories.start_background(self)
        self.warm_skills()

    def warm_skills(self) -> Any:
        """Start every enabled skill's worker in a background thread (returned)."""
        return self.runner().warm(self.catalog().skills.values())

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
        if self._services is not None:
            self._services.close()
