"""A question about the notes folder only."""

from __future__ import annotations

from qa_sources import problem, question_of, reply

from assistant.skills.sdk import Request, Response


def run(request: Request) -> Response:
    question = question_of(request)
    if not question:
        return request.reply("ask_question")
    try:
        notes = request.services.documents.notes()
        if not notes:
            return request.reply("no_notes")
        result = request.services.qa.answer(question, notes)
    except Exception as error:  # skill boundary: a service failure becomes a reply
        return request.reply("failed", problem=problem(error))
    return reply(request, result, notes)
