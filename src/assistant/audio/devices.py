"""Which microphones and speakers there are, by the sound server's own names, and how to open one.

On a desktop, PortAudio (sounddevice) sees a PulseAudio or PipeWire server only as ALSA's "pulse"
and "default" devices: one device that stands for every source and sink of the server. So when a
server answers, its sources and sinks are listed instead (asked through libpulse, `pulsectl`),
and one chosen by name is opened through that "pulse" device with `PULSE_SOURCE` or `PULSE_SINK`
set, which libpulse reads for every stream it opens (through PipeWire's own "pipewire" ALSA
device, where there is no "pulse" one, with `PIPEWIRE_NODE`). Without a server, PortAudio's own devices
(ALSA's sound cards) are listed and opened as before. A device is chosen by its name, its
description, or its number in `assistant devices`.

libasound prints its complaints ("underrun occurred", "unable to open slave") straight to
stderr from C; `quiet_alsa` sends them to the log instead, before PortAudio is first loaded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from assistant.errors import AudioError

alsa_log = logging.getLogger("assistant.audio.alsa")

Direction = Literal["input", "output"]

SERVER_TIMEOUT_S = 2.0
"""How long a sound server may take to answer before it is taken as not running."""

START_SERVER = (
    "start PipeWire or PulseAudio (`systemctl --user start pipewire pipewire-pulse`, "
    "or `pulseaudio --start`)"
)
PA_INVALID_INDEX = 0xFFFFFFFF
"""libpulse's "no such index": a source's `monitor_of_sink` when it is a real microphone."""


@dataclass(frozen=True)
class Device:
    """One microphone (a source) or speaker (a sink), as `assistant devices` lists it."""

    number: int
    """Its number in the list: what `[audio] input = "3"` selects."""
    name: str
    """The server's name for it (`alsa_input.usb-...`), or PortAudio's device name."""
    description: str
    """What people call it ("Built-in Audio Analog Stereo")."""
    inputs: int
    """Input channels; 0 for a speaker."""
    outputs: int
    """Output channels; 0 for a microphone."""
    default_rate_hz: float
    default: bool = False
    """The server's (or PortAudio's) default for its direction."""
    monitor: bool = False
    """A sink's monitor: what that speaker plays, as a source (not a microphone)."""
    portaudio_index: int | None = None
    """PortAudio's index, for a device PortAudio opens itself (no sound server)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.number,
            "name": self.name,
            "description": self.description,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "default_rate_hz": self.default_rate_hz,
            "default": self.default,
            "monitor": self.monitor,
        }


@dataclass(frozen=True)
class SoundServer:
    """The PulseAudio or PipeWire server that answered."""

    name: str
    """"PulseAudio 16.1", "PulseAudio (on PipeWire 1.0.5)"."""
    address: str
    """Where it was reached: `PULSE_SERVER`, or the user's own socket."""


@dataclass(frozen=True)
class SoundSystem:
    """What `assistant devices` and `doctor` report: the server (if any) and the devices."""

    server: SoundServer | None
    devices: tuple[Device, ...]
    server_problem: str = ""
    """Why no server answered (empty when one did)."""
    portaudio_devices: tuple[Device, ...] = field(default=())
    """PortAudio's own devices (with a server, usually "pulse" and "default")."""

    @property
    def inputs(self) -> list[Device]:
        return [d for d in self.devices if d.inputs]

    @property
    def outputs(self) -> list[Device]:
        return [d for d in self.devices if d.outputs]

    @property
    def reaches_server(self) -> bool:
        """PortAudio can open the server's devices (through ALSA's pulse or pipewire plugin)."""
        return self.gateway("output") is not None

    def gateway(self, direction: Direction) -> tuple[int, str] | None:
        """PortAudio's index of the ALSA device that leads to the server, and the environment
        variable that tells that device's plugin which source or sink to use."""
        found = {d.name: d.portaudio_index for d in self.portaudio_devices}
        pulse, pipewire = found.get("pulse"), found.get("pipewire")
        if pulse is not None:
            return pulse, "PULSE_SOURCE" if direction == "input" else "PULSE_SINK"
        if pipewire is not None:  # PipeWire's own ALSA plugin (pipewire-alsa), without pulse's
            return pipewire, "PIPEWIRE_NODE"
        return None

    def summary(self) -> str:
        """One line: the server and how many devices of each kind, monitors counted apart."""
        microphones = [d for d in self.inputs if not d.monitor]
        monitors = len(self.inputs) - len(microphones)
        counts = f"{len(microphones)} microphone(s)"
        if monitors:
            counts += f" and {monitors} speaker monitor(s)"
        counts += f", {len(self.outputs)} speaker(s)"
        where = self.server.name if self.server else "no sound server, ALSA directly"
        return f"{where}: {counts}"


def no_sound_message(instead: str) -> str:
    """The one sentence for a machine where nothing can be played or recorded."""
    return f"{no_sound_cause()}: {START_SERVER}, or {instead}"


def no_sound_cause() -> str:
    return (
        f"no sound server is running (nothing answers at {_server_address()}) "
        "and no sound card is reachable"
    )


def _server_address() -> str:
    """Where libpulse looks for the server (it reads these itself; read here only to say so)."""
    server = os.environ.get("PULSE_SERVER")
    if server:
        return f"PULSE_SERVER={server}"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return f"{runtime}/pulse/native" if runtime else "the usual PulseAudio socket"


def sound_system() -> SoundSystem:
    """Ask the sound server and PortAudio what there is; `AudioError` when PortAudio is missing."""
    sounddevice = portaudio()
    default_in, default_out = _portaudio_defaults(sounddevice)
    own = tuple(
        Device(
            number=int(d["index"]),
            name=str(d["name"]),
            description=str(sounddevice.query_hostapis(int(d["hostapi"]))["name"]),
            inputs=int(d["max_input_channels"]),
            outputs=int(d["max_output_channels"]),
            default_rate_hz=float(d["default_samplerate"]),
            default=int(d["index"]) in (default_in, default_out),
            portaudio_index=int(d["index"]),
        )
        for d in map(dict, sounddevice.query_devices())
    )
    server, devices, problem = _ask_server()
    if server is not None:
        return SoundSystem(server, devices, "", own)
    return SoundSystem(None, own, problem, own)


def _portaudio_defaults(sounddevice: ModuleType) -> tuple[int, int]:
    try:
        default_in, default_out = sounddevice.default.device
        return int(default_in), int(default_out)
    except (TypeError, ValueError):
        return -1, -1


def _ask_server() -> tuple[SoundServer | None, tuple[Device, ...], str]:
    """The server's sources and sinks, or why it did not answer."""
    try:
        import pulsectl
    except (ImportError, OSError) as error:  # OSError: libpulse itself is missing
        return None, (), f"cannot ask a PulseAudio or PipeWire server ({error})"
    try:
        with pulsectl.Pulse("assistant", connect=False) as pulse:
            pulse.connect(timeout=SERVER_TIMEOUT_S)
            info = pulse.server_info()
            sources, sinks = pulse.source_list(), pulse.sink_list()
    except pulsectl.PulseError as error:
        return None, (), f"{_server_address()}: {error}"
    name = info.server_name
    if name == "pulseaudio":
        name = f"PulseAudio {info.server_version}"
    devices: list[Device] = []
    for source in sources:
        devices.append(
            Device(
                number=len(devices),
                name=source.name,
                description=source.description,
                inputs=source.channel_count,
                outputs=0,
                default_rate_hz=float(source.sample_spec.rate),
                default=source.name == info.default_source_name,
                monitor=source.monitor_of_sink not in (None, PA_INVALID_INDEX),
            )
        )
    for sink in sinks:
        devices.append(
            Device(
                number=len(devices),
                name=sink.name,
                description=sink.description,
                inputs=0,
                outputs=sink.channel_count,
                default_rate_hz=float(sink.sample_spec.rate),
                default=sink.name == info.default_sink_name,
            )
        )
    return SoundServer(name, _server_address()), tuple(devices), ""


def find(devices: tuple[Device, ...], setting: str, direction: Direction) -> Device | None:
    """The device of `devices` that `setting` names for `direction`: its number, name,
    description, or a part of one of those that only it has; None when none does."""
    candidates = [d for d in devices if (d.inputs if direction == "input" else d.outputs)]
    if setting.isdigit():
        return next((d for d in candidates if d.number == int(setting)), None)
    for same in (
        lambda d: d.name == setting,
        lambda d: d.name.lower() == setting.lower() or d.description.lower() == setting.lower(),
    ):
        found = [d for d in candidates if same(d)]
        if len(found) == 1:
            return found[0]
    part = [d for d in candidates if setting.lower() in f"{d.name}\n{d.description}".lower()]
    return part[0] if len(part) == 1 else None


@dataclass(frozen=True)
class Route:
    """How to open one device: what to hand PortAudio, and the server's name for it."""

    portaudio_device: int | None
    """PortAudio's index; None for PortAudio's default."""
    server_device: str | None = None
    """The server's source or sink, reached through PortAudio's "pulse" (or "pipewire") device."""
    variable: str = ""
    """The environment variable that names `server_device` to that device's ALSA plugin."""

    @contextmanager
    def opening(self) -> Iterator[int | None]:
        """Open the PortAudio stream inside this: the server's stream goes to `server_device`."""
        if self.server_device is None:
            yield self.portaudio_device
            return
        # libpulse reads PULSE_SOURCE/PULSE_SINK (PipeWire's plugin PIPEWIRE_NODE) when the ALSA
        # plugin opens its stream, and puts the stream on the server's default device unless
        # they name another. Set only while opening, so another stream keeps its own device.
        variable = self.variable
        before = os.environ.get(variable)
        os.environ[variable] = self.server_device
        try:
            yield self.portaudio_device
        finally:
            if before is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = before


def open_device(setting: str | int | None, direction: Direction, instead: str) -> Route:
    """How to open the device `setting` names ("default", a name or a number) for `direction`.

    `AudioError` with one sentence that says what to do: no sound at all (`instead` is the
    alternative offered, e.g. "use --input FILE"), or no such device.
    """
    setting = "" if setting is None else str(setting).strip()
    system = sound_system()
    if system.server is None and not system.devices:
        raise AudioError(no_sound_message(instead))
    if system.server is not None and not system.portaudio_devices:
        raise AudioError(_unreachable(system))
    if setting in ("", "default"):
        return Route(None)
    device = find(system.devices, setting, direction)
    if device is None and system.server is not None and not setting.isdigit():
        # A PortAudio name from before ("pulse", "HDA Intel PCH: ALC3246 Analog (hw:0,0)").
        device = find(system.portaudio_devices, setting, direction)
    if device is None:
        kind = "microphone" if direction == "input" else "speaker"
        raise AudioError(
            f"no {kind} is named or numbered {setting!r} {_where(system)}: "
            f"`assistant devices` lists them; or {instead}"
        )
    if device.portaudio_index is not None:
        return Route(device.portaudio_index)
    gateway = system.gateway(direction)
    if gateway is None:
        raise AudioError(_unreachable(system))
    return Route(gateway[0], device.name, gateway[1])


def _where(system: SoundSystem) -> str:
    return f"on {system.server.name}" if system.server else "among the sound cards"


def _unreachable(system: SoundSystem) -> str:
    name = system.server.name if system.server else "the sound server"
    return (
        f'{name} answers, but PortAudio has no "pulse" device to reach it: install ALSA\'s '
        "pulse plugin (`sudo apt-get install libasound2-plugins`; Fedora: alsa-plugins-pulseaudio)"
    )


# -- PortAudio and ALSA's messages ------------------------------------------------------

_ALSA_HANDLER = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
_installed: list[Any] = []
"""The handler given to libasound, kept alive for as long as the process runs."""


def quiet_alsa() -> None:
    """Send libasound's messages to the log rather than stderr (once; where there is libasound)."""
    if _installed:
        return
    path = ctypes.util.find_library("asound")
    try:
        library = ctypes.CDLL(path or "libasound.so.2")
    except OSError:
        _installed.append(None)
        return

    def handler(file: bytes, line: int, function: bytes, error: int, message: bytes) -> None:
        # The message's own arguments are variadic and out of ctypes' reach; its format says enough.
        alsa_log.info(
            "ALSA %s:%d (%s): %s",
            (file or b"").decode(errors="replace"),
            line,
            (function or b"").decode(errors="replace"),
            (message or b"").decode(errors="replace"),
        )

    callback = _ALSA_HANDLER(handler)
    library.snd_lib_error_set_handler(callback)
    _installed.append(callback)


def portaudio() -> ModuleType:
    """sounddevice, loaded with ALSA's messages going to the log; `AudioError` without PortAudio."""
    quiet_alsa()
    try:
        import sounddevice
    except OSError as error:
        raise AudioError(f"cannot use the sound system: {error} (install libportaudio2)") from None
    return sounddevice
