"""The n-gram analyzers split text exactly as scikit-learn's, so ranking needs no scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from assistant.nlu.ngrams import NgramTable, analyze

TEXTS = [
    "What's the weather like in São Paulo?",
    "set a timer for 10 minutes",
    "  play   the\tnext song  ",
    "a I x",
    "remind me to call mum at 5:30pm, please!!",
    "naïve café déjà-vu",
    "https://example.com/page?q=1",
    "",
    "ok",
]


@pytest.mark.parametrize(("kind", "sizes"), [("word", (1, 2)), ("char_wb", (2, 5))])
def test_the_grams_are_scikit_learns(kind: str, sizes: tuple[int, int]) -> None:
    reference = TfidfVectorizer(analyzer=kind, ngram_range=sizes).build_analyzer()
    for text in TEXTS:
        assert sorted(analyze(kind, sizes, text)) == sorted(reference(text)), text


def test_the_weights_are_scikit_learns() -> None:
    train = TEXTS[:6]
    for kind, sizes in [("word", (1, 2)), ("char_wb", (2, 5))]:
        table = NgramTable.fit(kind, sizes, train)
        reference = TfidfVectorizer(analyzer=kind, ngram_range=sizes, sublinear_tf=True).fit(train)
        assert np.allclose(table.transform(TEXTS).toarray(), reference.transform(TEXTS).toarray(), atol=1e-6)
