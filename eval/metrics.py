"""Per-case metric functions: pure, no model, no network, table-tested.

Conventions, chosen so that nothing quietly leaves a mean:
- a failure (error, abstention, empty answer) scores 0 on every answer and
  citation metric of an answerable question;
- ``None`` means "does not apply" (answer metrics of an unanswerable
  question), never "could not compute";
- a ratio whose denominator is the system's own output (no citations, no
  abstentions) is 0; one whose denominator is the dataset (no unanswerable
  questions) is ``None``.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from rag import parse_markers, strip_markers  # the same marker grammar the answerers write

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | set("‘’“”–—…")
_CLAIM = re.compile(r".*?(?:\[\d+(?:\s*[-,–]\s*\d+)*\][\s.,;:!?]*)+|.+$", re.S)
_STOP = frozenset(
    "a an the of to in on at by for with from and or but is are was were be been being it its this "
    "that these those as not no he she they his her their them we you i".split()
)
SUPPORT_MIN_OVERLAP = 0.7  # share of a sentence's content words that its cited passages must hold


def fold(text: str) -> str:
    """Case, curly-quote and whitespace folding, for containment checks."""
    text = text.casefold().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split())


def occurs(needle: str, folded_haystack: str) -> bool:
    """``fold(needle)`` in ``folded_haystack`` as whole words: "3" is not in "13", "ten" not in "often"."""
    n = fold(needle)
    return bool(n) and n in folded_haystack and re.search(r"(?<!\w)" + re.escape(n) + r"(?!\w)", folded_haystack) is not None


def contains_any(haystack: str, needles: Iterable[str]) -> bool:
    """True when any non-blank gold string occurs in ``haystack`` (folded, whole words)."""
    hay = fold(haystack)
    return any(occurs(n, hay) for n in needles if n.strip())


def squad_normalize(text: str) -> str:
    """The official SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    pred = squad_normalize(prediction)
    return float(any(pred == squad_normalize(g) for g in golds)) if golds else 0.0


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1 against the best-matching gold answer."""
    pred = squad_normalize(prediction).split()
    best = 0.0
    for gold in golds:
        ref = squad_normalize(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            p, r = common / len(pred), common / len(ref)
            best = max(best, 2 * p * r / (p + r))
    return best


def citation_scores(cited: Sequence[dict], gold_sources: Sequence[str], answers: Sequence[str],
                    retrieved: Sequence[dict]) -> dict[str, float]:
    """Precision and recall of an answer's citations, by gold source and by gold answer string.

    ``cited`` and ``retrieved`` are passages as dicts with ``chunk_id``,
    ``file_name`` and ``text``. Answer recall is over the retrieved passages
    that contain a gold answer: citing none of them, or retrieving none, is 0.
    """
    cited = list({p["chunk_id"]: p for p in cited}.values())
    gold = set(gold_sources)
    from_gold = [p for p in cited if p["file_name"] in gold]
    with_answer = {p["chunk_id"] for p in cited if contains_any(p["text"], answers)}
    findable = {p["chunk_id"] for p in retrieved if contains_any(p["text"], answers)}
    return {
        "citation.precision.source": len(from_gold) / len(cited) if cited else 0.0,
        "citation.recall.source": len({p["file_name"] for p in from_gold}) / len(gold) if gold else 0.0,
        "citation.precision.answer": len(with_answer) / len(cited) if cited else 0.0,
        "citation.recall.answer": len(with_answer & findable) / len(findable) if findable else 0.0,
    }


def split_claims(text: str) -> list[str]:
    """An answer's claims: the text up to and including each group of ``[n]`` markers.

    The claim is what its markers vouch for; trailing text with no marker is
    a claim of its own (and unsupported). Cutting at markers rather than at
    full stops keeps "St. Petersburg" in one piece.
    """
    return [m.group(0).strip() for m in _CLAIM.finditer(text.strip()) if m.group(0).strip()]


def _content_words(text: str) -> list[str]:
    return [w for w in squad_normalize(text).split() if w not in _STOP]


def is_supported(sentence: str, cited_texts: Sequence[str]) -> bool:
    """A sentence is supported when its cited passages hold most of its content words.

    A sentence without a citation, or citing nothing that exists, is unsupported.
    """
    words = _content_words(strip_markers(sentence))
    if not cited_texts:
        return False
    if not words:
        return True
    pool = set(_content_words(" ".join(cited_texts)))
    return sum(w in pool for w in words) / len(words) >= SUPPORT_MIN_OVERLAP


def support_rate(answer_text: str, passages_by_n: dict[int, str]) -> float:
    """Share of answer claims supported by the passages they cite; an empty answer is 0."""
    sentences = split_claims(answer_text)
    if not sentences:
        return 0.0
    ok = 0
    for sentence in sentences:
        cited = [passages_by_n[n] for n in parse_markers(sentence) if n in passages_by_n]
        ok += is_supported(sentence, cited)
    return ok / len(sentences)


def abstention_scores(abstained: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """Abstaining treated as predicting "unanswerable": precision, recall, F1, false-abstention rate."""
    pairs = list(zip(abstained, answerable))
    n_una = sum(not a for _, a in pairs)
    n_ans = len(pairs) - n_una
    n_abst = sum(ab for ab, _ in pairs)
    right = sum(ab and not a for ab, a in pairs)
    precision = right / n_abst if n_abst else 0.0
    recall = right / n_una if n_una else None
    f1 = None
    if recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "abstention.precision": precision if n_una else None,
        "abstention.recall": recall,
        "abstention.f1": f1,
        "abstention.false_rate": sum(ab and a for ab, a in pairs) / n_ans if n_ans else None,
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """numpy's linear-interpolated percentile; ``None`` for no values."""
    return float(np.percentile(values, q)) if len(values) else None


def mean(values: Iterable[float | None]) -> float | None:
    """Mean over applicable values (``None`` = does not apply); ``None`` when nothing applies."""
    data = [v for v in values if v is not None]
    return sum(data) / len(data) if data else None
