"""The current time, in the local time zone."""

from datetime import datetime

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    now = datetime.fromisoformat(request.context.now) if request.context.now else datetime.now().astimezone()
    spoken = now.strftime("%H:%M") if request.settings.get("clock_24h") else now.strftime("%I:%M %p").lstrip("0")
    return Response(text=request.answer("time", time=spoken), data={"time": now.isoformat(timespec="seconds")})
