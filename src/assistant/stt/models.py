"""The Vosk model catalogue, and downloading a model safely into the home's models folder.

A download goes to a temporary file, is checked (length, MD5 when the
catalogue knows it, zip integrity, no member escaping the folder, the layout
of a Vosk model), unpacked into a temporary folder and only then renamed into
place, so a failed or interrupted pull never leaves a half model behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from assistant.errors import ModelError

log = logging.getLogger(__name__)

BASE_URL = "https://alphacephei.com/vosk/models"


@dataclass(frozen=True)
class ModelSpec:
    """One downloadable model."""

    name: str
    """Short name used in settings and on the command line."""
    url: str
    description: str
    size_mb: int = 0
    """Approximate download size, for display only."""
    md5: str | None = None
    """Checked when known."""


CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "vosk-small-en",
            f"{BASE_URL}/vosk-model-small-en-us-0.15.zip",
            "US English, small (Raspberry Pi class), grammar-capable",
            40,
        ),
        ModelSpec(
            "vosk-en-lgraph",
            f"{BASE_URL}/vosk-model-en-us-0.22-lgraph.zip",
            "US English, medium, grammar-capable",
            128,
        ),
        ModelSpec(
            "vosk-en",
            f"{BASE_URL}/vosk-model-en-us-0.22.zip",
            "US English, large (server), most accurate, no grammar support",
            1800,
        ),
        ModelSpec(
            "vosk-small-en-in",
            f"{BASE_URL}/vosk-model-small-en-in-0.4.zip",
            "Indian English, small",
            36,
        ),
    )
}

Progress = Callable[[int, int | None], None]
"""Called with (bytes received, total bytes or None)."""

_CHUNK_BYTES = 1 << 16


def model_dir(models_root: Path, name: str) -> Path:
    return models_root / "vosk" / name


def installed(models_root: Path) -> list[str]:
    """Names of the Vosk models unpacked under `models_root`."""
    folder = models_root / "vosk"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def resolve_vosk_model(name: str, models_root: Path) -> Path | None:
    """A folder path as given, or an installed model by name; None when neither exists."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    candidate = model_dir(models_root, name)
    return candidate if candidate.is_dir() else None


def pull(
    spec: ModelSpec,
    models_root: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Download, verify and unpack `spec` under `models_root`; return the model folder."""
    target = model_dir(models_root, spec.name)
    if target.is_dir() and not force:
        log.info("%s is already installed in %s", spec.name, target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".pull-{spec.name}-", dir=target.parent) as scratch:
        archive = Path(scratch) / "model.zip"
        _download(spec, archive, progress, timeout_s)
        unpacked = _unpack(spec, archive, Path(scratch) / "unpacked")
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    log.info("installed %s in %s", spec.name, target)
    return target


def _download(spec: ModelSpec, archive: Path, progress: Progress | None, timeout_s: float) -> None:
    import httpx

    md5 = hashlib.md5(usedforsecurity=False)
    received = 0
    try:
        with httpx.stream("GET", spec.url, follow_redirects=True, timeout=timeout_s) as response:
            if response.status_code != 200:
                raise ModelError(f"{spec.name}: {spec.url} answered HTTP {response.status_code}")
            header = response.headers.get("content-length")
            total = int(header) if header and header.isdigit() else None
            with archive.open("wb") as handle:
                for chunk in response.iter_bytes(_CHUNK_BYTES):
                    handle.write(chunk)
                    md5.update(chunk)
                    received += len(chunk)
                    if progress is not None:
                        progress(received, total)
    except httpx.HTTPError as error:
        raise ModelError(
            f"{spec.name}: download from {spec.url} failed: {error}; check the network and retry"
        ) from None
    if total is not None and received != total:
        raise ModelError(f"{spec.name}: download cut short ({received} of {total} bytes); retry")
    if spec.md5 is not None and md5.hexdigest() != spec.md5:
        raise ModelError(
            f"{spec.name}: checksum mismatch (MD5 {md5.hexdigest()}, expected {spec.md5}); retry"
        )


def _unpack(spec: ModelSpec, archive: Path, destination: Path) -> Path:
    """Unpack into `destination`; return the model folder inside it."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            broken = bundle.testzip()
            if broken is not None:
                raise ModelError(
                    f"{spec.name}: the archive is corrupt (bad CRC in {broken}); retry the pull"
                )
            for member in bundle.namelist():
                parts = PurePosixPath(member).parts
                if member.startswith("/") or ".." in parts:
                    raise ModelError(
                        f"{spec.name}: the archive holds an unsafe path {member!r}; refusing it"
                    )
            bundle.extractall(destination)
    except zipfile.BadZipFile:
        raise ModelError(
            f"{spec.name}: the download is not a zip archive; retry the pull"
        ) from None
    tops = [p for p in destination.iterdir() if not p.name.startswith("__MACOSX")]
    root = tops[0] if len(tops) == 1 and tops[0].is_dir() else destination
    if not (root / "am").is_dir() or not (root / "conf").is_dir():
        raise ModelError(f"{spec.name}: the archive is not a Vosk model (no am/ and conf/ folders)")
    return root
