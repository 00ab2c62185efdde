"""The answer to "Did you mean A or B?": pick the choice named, or ask once more."""

from music_skill import ask, carry_out, music, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    offered = request.context.answer_to or {}
    choices = offered.get("choices") or []
    mode = offered.get("mode", "play")
    index = music(request).choose(request.utterance, [c["description"] for c in choices])
    if index is not None:
        return carry_out(request, choices[index], mode)
    if offered.get("attempt", 1) >= 2 or not choices:
        return reply(request, "gave_up")
    return ask(request, choices, mode, "which_one", attempt=2)
