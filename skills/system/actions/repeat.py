"""Say the last reply again."""

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    if not request.context.last_reply:
        return request.reply("nothing_to_repeat")
    return Response(text=request.context.last_reply)
