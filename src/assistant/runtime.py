"""The one builder of the assistant: settings in, a running pipeline out, and its sessions.

Every way in (the chat, `ask`, `listen`, `skill test`, the benchmarks, the Wyoming server)
builds an `Assistant` and asks it for sessions; nothing else wires the pipeline. Parts are
built on first use, so a command that needs only the settings starts fast:

    home, settings ─► catalog (skills) ─► nlu ─┐
                      services ◄── runner ◄────┼─► brain ─► sessions ─► outputs
                      scheduler ─► notifications ─► the session that set the job (or its room, or all)
"""

from __future__ import annotations

import itertools
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.bundled import BUNDLED_SKILLS
from assistant.config import LoadedConfig, Settings, load_config
from assistant.errors import ConfigError
from assistant.events import EventSink
from assistant.home import Home
from assistant.notifications import Notification
from assistant.services.registry import CatalogService, LazyServices
from assistant.session import LOCAL_ROOM, Session

if TYPE_CHECKING:  # the heavy parts are imported when first built, so commands start fast
    from assistant.audio.mixer import Mixer
    from assistant.brain import Brain
    from assistant.nlu.base import Progress
    from assistant.nlu.encoder import Encoder
    from assistant.nlu.understand import Nlu
    from assistant.skills.catalog import Catalog
    from assistant.skills.package import SkillPackage
    from assistant.skills.runner import SkillRunner

log = logging.getLogger(__name__)


class Assistant:
    """The assembled assistant: typed accessors for each part, each built once, on first use."""

    def __init__(self, home: Home, config: LoadedConfig):
        self.home = home
        self.config = config
        self.notices: list[str] = []
        """Things to tell the user once (the classifier fell back to the lexical matcher...)."""
        self._catalog: Catalog | None = None
        self._services: LazyServices | None = None
        self._runner: SkillRunner | None = None
        self._brain: Brain | None = None
        self._encoder: Encoder | None = None
        self._mixer: Mixer | None = None
        self._build_lock = threading.RLock()
        self._sessions: dict[str, Session] = {}
        self._sessions_lock = threading.Lock()
        self._session_numbers = itertools.count(1)
        self._background_started = False

    @classmethod
    def from_home(cls, home: Home | None = None, environ: dict[str, str] | None = None) -> Assistant:
        """Build from `$ASSISTANT_HOME` (or `home`) and its settings, as the command line does."""
        home = (home or Home.from_env()).ensure()
        return cls(home, load_config(home.config_file, environ=environ))

    @property
    def settings(self) -> Settings:
        return self.config.settings

    # -- the parts ------------------------------------------------------------------------

    def skill_roots(self) -> list[Path]:
        extra = [Path(p).expanduser() for p in self.settings.runtime.extra_paths]
        return [BUNDLED_SKILLS, self.home.skills, *extra]

    def catalog(self) -> Catalog:
        with self._build_lock:
            if self._catalog is None:
                from assistant.skills.catalog import discover
                from assistant.skills.entrypoints import skill_folders
                from assistant.skills.runner import DisabledSkills

                disabled = set(self.settings.runtime.disabled)
                disabled |= DisabledSkills(self.home.data / "disabled_skills.json").load()
                folders = skill_folders()
                self._check_language(folders)
                catalog = discover(
                    self.skill_roots(),
                    self.settings.general.language,
                    disabled,
                    folders=folders,
                )
                self._check_skill_settings(catalog)
                self._catalog = catalog
            return self._catalog

    def reload_catalog(self) -> Catalog:
        with self._build_lock:
            self._catalog = None
            return self.catalog()

    def _check_language(self, folders: list[Path]) -> None:
        """A language no installed skill speaks would silently switch every skill off."""
        from assistant.skills.catalog import locale_languages

        language = self.settings.general.language
        spoken = locale_languages(self.skill_roots(), folders)
        if language not in spoken:
            origin = self.config.sources.get("general.language", "configuration")
            raise ConfigError(
                f"{origin}: [general] language: no installed skill speaks {language!r} "
                f"(no locales/{language}.json); installed languages: {', '.join(sorted(spoken)) or 'none'}"
            )

    def _check_skill_settings(self, catalog: Catalog) -> None:
        """`[skills.<id>]` tables against each manifest's settings schema; unknown keys are errors."""
        import jsonschema

        for skill_id, values in self.settings.skills.items():
            skill = catalog.get(skill_id)
            if skill is None:
                log.warning("[skills.%s] in the configuration names no installed skill", skill_id)
                continue
            schema = {"type": "object", "additionalProperties": False, **(skill.manifest.get("settings") or {})}
            known = schema.get("properties", {})
            unknown = [key for key in values if key not in known]
            if unknown and schema.get("additionalProperties") is False:
                origin = self.config.sources.get(f"skills.{skill_id}.{unknown[0]}", "configuration")
                expected = f"expected one of: {', '.join(sorted(known))}" if known else "the skill has no settings"
                raise ConfigError(f"{origin}: unknown key {unknown[0]!r} in [skills.{skill_id}]; {expected}")
            try:
                jsonschema.validate(values, schema)
            except jsonschema.ValidationError as error:
                where = ".".join(str(p) for p in error.absolute_path) or "(table)"
                origin = self.config.sources.get(f"skills.{skill_id}.{where}", "configuration")
                raise ConfigError(f"{origin}: [skills.{skill_id}] {where}: {error.message}") from None

    def skill_settings(self, skill: SkillPackage) -> dict[str, Any]:
        """Manifest defaults, then a global section named after the skill, then `[skills.<id>]`."""
        values = skill.default_settings()
        section = getattr(self.settings, skill.id, None)
        if section is not None and hasattr(section, "model_dump"):
            values.update(section.model_dump())
        values.update(self.config.skill_settings(skill.id))
        return values

    def services(self) -> LazyServices:
        with self._build_lock:
            if self._services is None:
                from assistant.services import factories

                self._services = LazyServices({"catalog": lambda: CatalogService(self.catalog())})
                factories.register_all(self._services, self)
            return self._services

    def runner(self) -> SkillRunner:
        with self._build_lock:
            if self._runner is None:
                from assistant.skills.runner import SkillRunner
                from assistant.skills.sandbox import Limits

                runtime = self.settings.runtime
                self._runner = SkillRunner(
                    self.home,
                    self.services(),
                    timeout_s=runtime.timeout_s,
                    max_failures=runtime.max_failures,
                    limits=Limits(memory_mb=runtime.skill_memory_mb, cpu_s=runtime.skill_cpu_s),
                )
            return self._runner

    def mixer(self) -> Mixer:
        """The one audio output: music and speech mixed on `[audio] output`, opened on first sound."""
        with self._build_lock:
            if self._mixer is None:
                from assistant.audio.mixer import Mixer

                self._mixer = Mixer(self.settings.audio.output, self.settings.music.duck_volume)
            return self._mixer

    def encoder(self) -> Encoder:
        """The sentence encoder shared by the intent classifier and the skills' services."""
        with self._build_lock:
            if self._encoder is None:
                from assistant.nlu.encoder import Encoder, onnx_folder

                model = self.settings.nlu.model
                self._encoder = Encoder(model, onnx_dir=onnx_folder(self.home.models, model))
            return self._encoder

    def nlu(
        self, progress: Progress | None = None, calibrate: bool = True, background: bool = False
    ) -> Nlu:
        """A new understanding stage over the installed skills (the brain keeps one).

        `calibrate=False` borrows the home's threshold (a skill being checked or tested);
        `background` trains an untrained classifier on a thread behind the lexical matcher.
        """
        from assistant.nlu.understand import Nlu

        return Nlu(
            self.catalog(),
            self.settings.nlu,
            self.home,
            progress=progress,
            on_notice=self._notice,
            encoder=self.encoder() if self.settings.nlu.engine == "transformer" else None,
            calibrate=calibrate,
            background=background,
        )

    def _notice(self, message: str) -> None:
        """Kept for the command to show at start; later ones (a background training done) go to every session."""
        from assistant.events import Progress as Said

        self.notices.append(message)
        for session in self.sessions():
            session.emit(Said(message))

    def brain(
        self, progress: Progress | None = None, background: bool = False, calibrate: bool = True
    ) -> Brain:
        """The shared brain (trains the classifier on first use; `progress` hears how far).

        `background` and `calibrate` are passed to `nlu` when the brain is first built."""
        with self._build_lock:
            if self._brain is None:
                from assistant.brain import Brain

                self._brain = Brain(
                    self.catalog(),
                    self.nlu(progress, calibrate=calibrate, background=background),
                    self.runner(),
                    self.skill_settings,
                    language=self.settings.general.language,
                    max_utterance_chars=self.settings.general.max_utterance_chars,
                )
            return self._brain

    # -- sessions -------------------------------------------------------------------------

    def open_session(
        self,
        session_id: str | None = None,
        output: EventSink | None = None,
        room: str | None = LOCAL_ROOM,
    ) -> Session:
        """A new conversation; an open session of the same id is returned as it is.

        `room`: where it is (a satellite's name); the timers and reminders it sets belong there.
        The machine's own ways in (chat, `ask`, `listen`) share `LOCAL_ROOM`, which sees every room's.
        """
        brain = self.brain()
        with self._sessions_lock:
            if session_id is not None and session_id in self._sessions:
                return self._sessions[session_id]
            session_id = session_id or f"session-{next(self._session_numbers)}"
            session = Session(session_id, brain, output, on_close=self._forget, room=room)
            self._sessions[session_id] = session
            return session

    def session(self, session_id: str) -> Session | None:
        """The open session of that id, if any."""
        with self._sessions_lock:
            return self._sessions.get(session_id)

    def sessions(self) -> list[Session]:
        with self._sessions_lock:
            return list(self._sessions.values())

    def _forget(self, session: Session) -> None:
        with self._sessions_lock:
            if self._sessions.get(session.id) is session:
                del self._sessions[session.id]

    def deliver(self, notification: Notification) -> None:
        """A notification rings where it was set: the session whose turn scheduled it, else the
        open sessions of its room (a job stored without one belongs to the local room), else every session."""
        target = self.session(str(notification.data.get("session") or ""))
        room = notification.data.get("room") or LOCAL_ROOM
        recipients = (
            [target]
            if target is not None
            else [s for s in self.sessions() if s.room == room] or self.sessions()
        )
        if not recipients:
            log.warning("notification with nobody to show it: %s", notification.text)
        for session in recipients:
            session.notify(notification)

    # -- background work ------------------------------------------------------------------

    def start_background(self) -> None:
        """Start what works unasked (the scheduler), once a session can show its notifications.

        Also the skills' worker processes, in the background: a conversation (chat, listening)
        has time for that, and then no skill's first answer waits for its worker to start.
        """
        with self._build_lock:
            if self._background_started:
                return
            self._background_started = True
        from assistant.services import factories

        factories.start_background(self)
        self.warm_skills()

    def warm_skills(self) -> threading.Thread:
        """Start every enabled skill's worker in a background thread (returned)."""
        return self.runner().warm(self.catalog().skills.values())

    def close(self) -> None:
        for session in self.sessions():
            session.close()
        if self._runner is not None:
            self._runner.close()
        if self._services is not None:
            self._services.close()
        if self._mixer is not None:
            self._mixer.close()  # after the music stopped: what speech is queued is heard
