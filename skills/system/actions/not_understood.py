"""The reply when nothing matched: offers the closest things the assistant can do."""

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    suggestions = [f'"{s}"' for s in request.entities.get("suggestions", [])]
    if not suggestions:
        return request.reply("not_understood")
    joined = ", ".join(suggestions[:-1]) + (" or " if len(suggestions) > 1 else "") + suggestions[-1]
    return request.reply("not_understood_suggest", suggestions=joined, data={"suggestions": request.entities["suggestions"]})
