"""What the music player's actions share: finding what was asked for, asking back, wording replies.

Every reply carries the player's state under `data["music"]`, so `--json` shows it.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.skills.sdk import Question, Request, Response

MODES = {"play": "playing", "enqueue": "queued", "play_next": "queued_next"}
"""What to do with a found match -> the answer key that says it was done."""
MAX_CHOICES = 3
CLASSES = {"album": "album", "record": "album", "song": "track", "track": "track", "tune": "track",
           "artist": "artist", "band": "artist", "singer": "artist", "group": "artist",
           "playlist": "playlist", "genre": "genre"}  # fmt: skip
"""A media class said before the name ("the album abbey road") -> the kind of match it wants."""
_LEAD_IN = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+|go ahead and\s+)*"
    r"(?:play|throw on|put on|stick on|spin|blast|queue up|fire up|start playing|i want to hear"
    r"|i'd like to hear|let me hear|let's hear|listen to)\s+(?P<rest>.+)$",
    re.I,
)
_CLASS_SAID = re.compile(
    rf"^(?:the|an?|some|my)?\s*(?P<cls>{'|'.join(CLASSES)})s?\s+(?:called\s+|named\s+|by\s+)?(?P<name>.+)$",
    re.I,
)


def music(request: Request) -> Any:
    return request.services.music


def reply(request: Request, key: str, status: dict[str, Any] | None = None, **fields: Any) -> Response:
    """Answer `key`, with the current track's title and artist as fields, and the state as data."""
    status = status if status is not None else music(request).status()
    track = status.get("track") or {}
    values = {"title": track.get("title", ""), "artist": track.get("artist") or "an unknown artist",
              "album": track.get("album", ""), "volume": status.get("volume", 0), **fields}
    return Response(text=request.answer(key, **values), data={"music": status})


def query_of(request: Request) -> str:
    """The free text asked for; "X by Y" when the title and the artist came apart."""
    entities = request.entities
    answered = request.context.answer_to or {}
    if answered.get("asked") == "query" and not entities:
        return request.utterance.strip()
    if entities.get("title") and entities.get("artist"):
        return f"{entities['title']} by {entities['artist']}"
    said = str(entities.get("query") or entities.get("title") or "").strip()
    if not said:  # a way of asking the samples do not know ("throw on ..."): the words after it
        lead_in = _LEAD_IN.match(request.utterance.strip(" .!?"))
        said = lead_in.group("rest") if lead_in else ""
    said = re.sub(r"\s+(?:please|for me|now)$", "", said, flags=re.I)
    classed = _CLASS_SAID.match(said)
    return classed.group("name").strip() if classed else said


def class_of(request: Request) -> str | None:
    """The kind of match asked for: "album" in "throw on the album abbey road", else None."""
    said = str(request.entities.get("media_class") or "")
    if said in CLASSES.values():
        return said
    words = re.findall(r"[a-z]+", request.utterance.lower())
    for word, kind in CLASSES.items():
        if f"the {word}" in " ".join(words) or f"{word} called" in " ".join(words):
            return kind
    return None


def find_and(request: Request, mode: str) -> Response:
    """Find the request's music; do `mode` with it, or ask which one when it is ambiguous."""
    query = query_of(request)
    if not query:
        asking = reply(request, "ask_query")
        return Response(text=asking.text, question=Question(mode, {"asked": "query"}), data=asking.data)
    if not music(request).library_counts()["tracks"]:
        return reply(request, "empty_library")
    found = music(request).find(query)
    matches = found["matches"]
    if not matches:
        return reply(request, "not_found", query=query)
    wanted = class_of(request)
    of_class = [match for match in matches if match["kind"] == wanted]
    if len(of_class) == 1:  # "the album abbey road": the album, not a song of that name
        return carry_out(request, of_class[0], mode)
    matches = of_class or matches
    if found["ambiguous"]:
        return ask(request, matches[:MAX_CHOICES], mode, "did_you_mean", attempt=1)
    return carry_out(request, matches[0], mode)


def carry_out(request: Request, match: dict[str, Any], mode: str) -> Response:
    service = music(request)
    if mode == "play":
        status = service.play(match["track_ids"])
    else:
        status = service.enqueue(match["track_ids"], play_next=mode == "play_next")
    return reply(request, MODES[mode], status, what=match["description"])


def ask(request: Request, matches: list[dict[str, Any]], mode: str, key: str, attempt: int) -> Response:
    """ "Did you mean A or B?" — the answer goes to the `choose` action, no wake word needed."""
    descriptions = [match["description"] for match in matches]
    spoken = ", ".join(descriptions[:-1]) + " or " + descriptions[-1]
    question = Question("choose", {"choices": matches, "mode": mode, "attempt": attempt})
    response = reply(request, key, choices=spoken)
    return Response(text=response.text, question=question, data={**response.data, "choices": descriptions})


def on_or_off(request: Request, entity: str) -> str | None:
    """The enum value said, or "off" for "stop shuffling" / "play in order" style requests."""
    value = request.entities.get(entity)
    if value:
        return str(value)
    words = request.utterance.lower().split()
    if {"stop", "don't", "dont", "order", "no"} & set(words) or any(w.startswith("stop") for w in words):
        return "off"
    return None


def volume_change(request: Request) -> int:
    """Percentage points to move the volume by: the amount said, half a step for "a bit", or a step."""
    step = int(request.settings.get("volume_step", 10))
    said = request.entities.get("level", request.entities.get("number"))
    if isinstance(said, int | float) and 0 < said <= 100:
        return int(said)
    amount = re.search(r"\bby (\d{1,3})\b|\b(\d{1,3}) ?(?:%|percent|per cent|points?)", request.utterance)
    if amount:
        return max(1, min(100, int(amount.group(1) or amount.group(2))))
    if re.search(r"\b(?:a (?:bit|little|touch|tad|notch)|slightly|a little bit)\b", request.utterance, re.I):
        return max(1, step // 2)
    if re.search(r"\b(?:a lot|way|much)\b", request.utterance, re.I):
        return step * 2
    return step
