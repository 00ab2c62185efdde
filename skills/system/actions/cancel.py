"""Cancel: drop the question that was pending, and say that nothing was changed."""

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    if (request.context.last_reply or "").rstrip().endswith("?"):
        return request.reply("cancelled_question")
    return request.reply("cancelled")
