"""How many sentences survive hard wrapping: ``python -m eval.wrapping [FOLDER]``.

Every article of FOLDER (default: the RealTime QA half in
``../shared/benchmarks/realtimeqa/corpus``) is read as is and hard-wrapped by
``textwrap`` at 60 and 72 columns, with and without blank lines between its
paragraphs; both go through the product's own cleaning and sentence
splitting (``rag.ingest.clean``, ``rag.sentences``), and the share of the
original's sentences that come out whole from the wrapped copy is printed.
A sentence is compared as the reader sees it (``reflow``, spaces
collapsed). Uses only rag's public modules; nothing is indexed.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections import Counter
from pathlib import Path

from rag.ingest.clean import clean
from rag.sentences import block_sentences, reflow

from .datasets import ROOT

REALTIMEQA = ROOT.parent / "shared" / "benchmarks" / "realtimeqa" / "corpus"


def sentences(text: str) -> Counter[str]:
    """The text's sentences as a reader sees them, counted."""
    cleaned = clean(text)
    return Counter(" ".join(reflow(text[s:e]).split())
                   for a, b in cleaned.segments for s, e in block_sentences(text, a, b))


def hard_wrap(text: str, width: int, blank_lines: bool) -> str:
    """Every line longer than ``width`` wrapped (table rows are not: nobody wraps those); paragraphs apart by a
    blank line or, if not, by one break."""
    out: list[str] = []
    for line in text.split("\n"):
        if not line.strip():
            if blank_lines:
                out.append("")
            continue
        out.extend(textwrap.wrap(line, width) if len(line) > width and not line.startswith("|") else [line])
    return "\n".join(out)


def survival(folder: Path, width: int, blank_lines: bool) -> tuple[int, int]:
    """(sentences the wrapped copies reproduce, sentences of the originals)."""
    same = total = 0
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        original = sentences(text)
        same += sum((original & sentences(hard_wrap(text, width, blank_lines))).values())
        total += sum(original.values())
    return same, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=REALTIMEQA)
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder of .txt articles", file=sys.stderr)
        return 1
    for width in (60, 72):
        for blank_lines in (True, False):
            same, total = survival(args.folder, width, blank_lines)
            apart = "blank lines between paragraphs" if blank_lines else "paragraphs one break apart"
            print(f"wrapped at {width}, {apart}: {same}/{total} sentences whole ({same / max(total, 1):.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
