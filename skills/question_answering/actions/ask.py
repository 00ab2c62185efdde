"""A question about the current document (the last page read or text given); the notes if it has no answer."""

from __future__ import annotations

from qa_sources import names_a_document, problem, question_of, reply

from assistant.skills.sdk import Question, Request, Response


def run(request: Request) -> Response:
    """The whole utterance is the question: "what will the cooperative vote on" fills no template."""
    question = question_of(request)
    if not question:  # "ask the page": ask what, and take the answer as the question
        return request.reply("ask_question", question=Question("ask", {}))
    try:
        current = request.services.documents.current()
        notes = request.services.documents.notes()
        if current is None and not notes:
            # "how many calories are in a banana" is not a question about a text: with none to
            # answer from, it is one no skill serves. "What does the page say ..." is told why not.
            return request.reply("no_document") if names_a_document(request) else request.decline()
        documents = [current] if current is not None else notes
        result = request.services.qa.answer(question, documents)
        if not result["found"] and current is not None and notes:
            from_notes = request.services.qa.answer(question, notes)
            if from_notes["found"]:
                return reply(request, from_notes, notes)
    except Exception as error:  # skill boundary: a service failure becomes a reply
        return request.reply("failed", problem=problem(error))
    return reply(request, result, documents)
