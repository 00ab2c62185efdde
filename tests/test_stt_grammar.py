"""assistant.stt.grammar: normalisation, the word graph and the Vosk phrase list."""

from __future__ import annotations

import json

from assistant.stt.grammar import Grammar, borrowed_pronunciation, normalise


def test_normalise_spells_out_numbers_and_drops_punctuation() -> None:
    assert normalise("Set a timer for 5 minutes!") == "set a timer for five minutes"
    assert normalise("Volume to 50%") == "volume to fifty percent"
    assert normalise("What's the time?") == "what's the time"
    assert normalise("volume 42, track 3rd") == "volume forty two track third"
    assert normalise("port 8000") == "port eight thousand"


def _cmu_lookup():  # type: ignore[no-untyped-def]
    """The real pronunciation dictionary pocketsphinx ships."""
    from pathlib import Path

    import pocketsphinx

    root = Path(pocketsphinx.get_model_path()) / "en-us"
    decoder = pocketsphinx.Decoder(
        hmm=str(root / "en-us"), dict=str(root / "cmudict-en-us.dict"), lm=None, loglevel="FATAL"
    )
    return decoder.lookup_word


def test_unknown_words_borrow_american_spelling_or_compound_halves() -> None:
    lookup = _cmu_lookup()
    assert lookup("favourites") is None and lookup("unpause") is None
    assert borrowed_pronunciation("favourites", lookup) == lookup("favorites")
    assert borrowed_pronunciation("summarise", lookup) == lookup("summarize")
    assert borrowed_pronunciation("unpause", lookup) == f"{lookup('un')} {lookup('pause')}"
    assert borrowed_pronunciation("localhost", lookup) == f"{lookup('local')} {lookup('host')}"
    # Nothing to borrow from: left unknown rather than guessed.
    assert borrowed_pronunciation("zxqv", lookup) is None
    assert borrowed_pronunciation("thx", lookup) is None


def test_phrases_with_unknown_words_are_dropped_not_guessed() -> None:
    known = {"play", "some", "jazz", "the", "news"}
    grammar = Grammar.from_phrases(
        ["Play some jazz", "play the news", "play zxqv", "play some jazz"], known.__contains__
    )
    assert grammar.phrases == ("play some jazz", "play the news")
    assert grammar.dropped == ("play zxqv",)


def accepts(graph_arcs: tuple, start: int, final: int, words: list[str]) -> bool:  # type: ignore[type-arg]
    """Walk the word graph (with empty moves) to check it accepts exactly `words`."""

    def closure(states: set[int]) -> set[int]:
        todo, seen = list(states), set(states)
        while todo:
            state = todo.pop()
            for origin, target, word in graph_arcs:
                if origin == state and word is None and target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    current = closure({start})
    for word in words:
        current = closure({t for o, t, w in graph_arcs if o in current and w == word})
    return final in current


def test_word_graph_accepts_the_phrases_and_nothing_else() -> None:
    phrases = [
        "set a timer for five minutes",
        "set a timer for ten minutes",
        "cancel the timer",
        "stop",
    ]
    grammar = Grammar.from_phrases(phrases)
    graph = grammar.to_word_graph("hey assistant")
    for phrase in phrases:
        assert accepts(graph.arcs, graph.start, graph.final, phrase.split())
        assert accepts(graph.arcs, graph.start, graph.final, ["hey", "assistant", *phrase.split()])
    assert accepts(graph.arcs, graph.start, graph.final, ["hey", "assistant"])
    for other in [
        "set a timer",
        "stop the timer",
        "hey",
        "cancel the timer stop",
        "assistant stop",
    ]:
        assert not accepts(graph.arcs, graph.start, graph.final, other.split())
    # Shared suffixes are merged: "minutes" appears on one arc, not two.
    assert sum(1 for _, _, w in graph.arcs if w == "minutes") == 1
    probabilities: dict[int, float] = {}
    for arc in graph.transitions():
        probabilities[arc[0]] = probabilities.get(arc[0], 0.0) + arc[2]
    assert all(abs(total - 1.0) < 1e-9 for total in probabilities.values())


def test_vosk_grammar_is_a_json_list_with_unknown() -> None:
    phrases = json.loads(Grammar.from_phrases(["stop", "play some jazz"]).to_vosk("hey assistant"))
    assert phrases[-1] == "[unk]"
    assert (
        "play some jazz" in phrases
        and "hey assistant play some jazz" in phrases
        and "hey assistant" in phrases
    )
