"""Today's date."""

from datetime import datetime

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    now = datetime.fromisoformat(request.context.now) if request.context.now else datetime.now().astimezone()
    spoken = f"{now:%A}, {now:%B} {now.day}, {now.year}"
    return Response(text=request.answer("date", date=spoken), data={"date": now.date().isoformat()})
