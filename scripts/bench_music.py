"""Benchmark of the music service: scan, rescan, time to sound, CPU while playing, memory.

Usage: python scripts/bench_music.py [--files 10000] [--dir /tmp/bench_music]
Makes the library once (tones encoded by ffmpeg, copied and re-tagged with mutagen),
then prints each figure next to its target. Output is "null": the decoder runs and
its frames are paced in real time exactly as for a sound card, but nothing is heard.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORMATS = {".mp3": ["-c:a", "libmp3lame", "-b:a", "32k"], ".flac": ["-c:a", "flac"], ".ogg": ["-c:a", "libvorbis"]}
GENRES = ["Rock", "Jazz", "Pop", "Classical", "Folk", "Electronic", "Blues", "Soul"]
PER_FOLDER = 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "bench_music")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        return _memory_probe(args.probe)

    library = args.dir / "library"
    made = _make_library(library, args.files)
    origin = f"made in {made:.1f} s" if made else "reused"
    print(f"library: {args.files} files in {library} ({origin})")
    home = args.dir / "home"
    shutil.rmtree(home, ignore_errors=True)

    from assistant.config import MusicSettings
    from assistant.home import Home
    from assistant.services.music import MusicService

    music = MusicService(Home(home).ensure(), MusicSettings(folders=[str(library)]), "null")
    started = time.perf_counter()
    report = music.scan()
    scan_s = time.perf_counter() - started
    started = time.perf_counter()
    again = music.scan()
    rescan_s = time.perf_counter() - started
    _line("scan", scan_s, 60, "s", f"{report['added']} indexed, {report['unreadable']} unreadable")
    _line("rescan, nothing changed", rescan_s, 5, "s", f"{again['unchanged']} unchanged")

    latencies, returns = _time_to_sound(music)
    _line("command -> sound starts (median)", statistics.median(latencies) * 1000, 300, "ms",
          f"first (cold: imports numpy, opens the decoder) {latencies[0] * 1000:.0f} ms, "
          f"max of the other 19 {max(latencies[1:]) * 1000:.0f} ms, "
          f"play() returns in {statistics.median(returns) * 1000:.1f} ms")
    music.close()
    cpu = _cpu_while_playing(home, args.dir)
    _line("CPU while playing", cpu, 5, "% of one core", "10 s of a 44.1 kHz stereo mp3, process time / wall time")

    small = _probe(args.dir, library, 1)
    large = _probe(args.dir, library, args.files // PER_FOLDER)
    growth = large["rss_mb"] - small["rss_mb"]
    print(f"memory (RSS after scan + play everything + search + status): "
          f"{small['tracks']} tracks {small['rss_mb']:.1f} MB, {large['tracks']} tracks {large['rss_mb']:.1f} MB "
          f"(+{growth:.1f} MB for {large['tracks'] - small['tracks']} more tracks, "
          f"{growth * 1024 / max(1, large['tracks'] - small['tracks']):.2f} kB per track); "
          f"database {large['db_mb']:.1f} MB")
    return 0


def _line(name: str, value: float, target: float, unit: str, note: str) -> None:
    verdict = "ok" if value <= target else "OVER TARGET"
    print(f"{name}: {value:.2f} {unit} (target <= {target} {unit}, {verdict}) - {note}")


def _make_library(folder: Path, count: int) -> float | None:
    """Copies of three encoded tones, each re-tagged; reused when already there."""
    if folder.is_dir() and sum(1 for _ in folder.rglob("*.*")) >= count:
        return None
    import mutagen

    started = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    templates = folder / "_templates"
    templates.mkdir(parents=True)
    sources = []
    for extension, codec in FORMATS.items():
        path = templates / f"tone{extension}"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "sine=frequency=440:duration=1", "-ar", "22050", "-ac", "1", *codec, str(path)],
                       check=True)
        sources.append(path)
    for index in range(count):
        source = sources[index % len(sources)]
        artist, album = index // 100, index // 10
        target = folder / f"{index // PER_FOLDER:02d}" / f"Artist {artist:04d}" / f"Album {album:05d}" / (
            f"{index % 10 + 1:02d} Song {index:05d}{source.suffix}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        audio = mutagen.File(str(target), easy=True)
        if audio.tags is None:
            audio.add_tags()
        audio.tags.update({"title": f"Song number {index}", "artist": f"Artist {artist}",
                           "album": f"Album {album}", "genre": GENRES[index % len(GENRES)],
                           "tracknumber": str(index % 10 + 1)})
        audio.save()
    shutil.rmtree(templates)
    return time.perf_counter() - started


def _time_to_sound(music) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    ids = music.library.all_ids()
    latencies, returns = [], []
    for trial in range(20):
        started = time.perf_counter()
        music.play([ids[(trial * 487) % len(ids)]])
        returns.append(time.perf_counter() - started)
        deadline = time.monotonic() + 2.0
        while music.player.start_latency_s() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        latency = music.player.start_latency_s()
        latencies.append(latency + returns[-1] if latency is not None else float("inf"))
        music.stop()
    return latencies, returns


def _cpu_while_playing(home: Path, folder: Path) -> float:
    from assistant.config import MusicSettings
    from assistant.home import Home
    from assistant.services.music import MusicService

    song = folder / "long" / "Long Song.mp3"
    if not song.exists():
        song.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "sine=frequency=440:duration=30", "-ac", "2", "-ar", "44100",
                        "-c:a", "libmp3lame", "-b:a", "192k", str(song)], check=True)
    music = MusicService(Home(home), MusicSettings(folders=[str(song.parent)]), "null")
    music.scan()
    music.play([music.library.by_path(str(song.resolve())).id])
    time.sleep(1.0)
    cpu, wall = time.process_time(), time.perf_counter()
    time.sleep(10.0)
    used = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
    music.close()
    return used


def _probe(folder: Path, library: Path, parts: int) -> dict[str, float]:
    home = folder / f"probe-home-{parts}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    folders = [str(library / f"{i:02d}") for i in range(parts)]
    (home / "folders.json").write_text(json.dumps(folders))
    output = subprocess.run([sys.executable, __file__, "--probe", str(home)], check=True,
                            capture_output=True, text=True).stdout
    return json.loads(output)


def _memory_probe(home: Path) -> int:
    """In a fresh process: scan, play everything, search, status; print RSS."""
    from assistant.config import MusicSettings
    from assistant.home import Home
    from assistant.services.music import MusicService

    folders = json.loads((home / "folders.json").read_text())
    music = MusicService(Home(home).ensure(), MusicSettings(folders=folders), "null")
    music.scan()
    music.play_all()
    for query in ("song number 42", "artist 7", "jazz", "album 12"):
        music.find(query)
    for _ in range(10):
        music.status()
    time.sleep(0.5)
    music.close()
    rss_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                  if line.startswith("VmHWM:"))
    print(json.dumps({"tracks": music.library.counts()["tracks"], "rss_mb": rss_kb / 1024,
                      "db_mb": sum(os.path.getsize(p) for p in home.glob("data/music.sqlite3*")) / 1e6}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
