"""What a question asks: the parts of a compound question.

"What did Zelenskyy accuse China of supplying, and how many casualties does
the UN report?" asks two things, usually answered in two articles. Each
part is retrieved and answered on its own as well as the whole, so one
part's evidence cannot crowd out the other's (retrieval fuses the lists of
every part, as multi-query "RAG-Fusion" does with reciprocal rank fusion).
"""

from __future__ import annotations

import re

from .text import words

_WH = r"(?:what|which|who|whom|whose|when|where|why|how)\b"
# ", and how long ...", "; what ...": a second question. Not "Lavrov and Peskov" (a list), not "Putin,
# who said ..." (a clause about Putin), not "between what the UN said and what Russia claimed" (no comma)
_JOIN = re.compile(rf",\s+and\s+(?={_WH})|;\s*(?={_WH})", re.I)
MIN_PART_WORDS = 3


def parts(question: str) -> list[str]:
    """The questions inside ``question``, in order; ``[question]`` when it asks one thing.

    English only: other languages' questions are answered whole.
    """
    pieces = [p.strip(" ,;") for p in _JOIN.split(question)]
    if len(pieces) < 2 or any(len(words(p)) < MIN_PART_WORDS for p in pieces):
        return [question]
    return pieces
