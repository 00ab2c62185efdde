"""What can you do: each installed skill with one example."""

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    skills = request.services.catalog.describe()
    lines = [request.answer("help_intro")]
    lines += [request.answer("help_item", name=s["name"], example=s["example"]) for s in skills if s["example"]]
    names = ", ".join(s["name"] for s in skills)
    return Response(text="\n".join(lines), speech=f"I have these skills: {names}.", data={"skills": skills})
