"""Question files for ``rag batch``: read questions, find answers already written."""

from __future__ import annotations

import json
from pathlib import Path

from .time import as_of_date


def read_questions(path: Path) -> list[dict]:
    """``[{'id', 'question'}]`` from a .txt (one a line; id = line number) or .jsonl file, whose lines may
    also give ``as_of`` (YYYY-MM-DD: the day that question is answered as of; checked here)."""
    text = path.read_text(encoding="utf-8")
    items: list[dict] = []
    if path.suffix.lower() == ".jsonl":
        for no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{no}: not valid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
                raise ValueError(f"{path}:{no}: each line needs a 'question' string")
            item = {"id": str(obj.get("id", no)), "question": obj["question"]}
            if obj.get("as_of") is not None:
                try:
                    item["as_of"] = as_of_date(str(obj["as_of"]))
                except ValueError as exc:
                    raise ValueError(f"{path}:{no}: {exc}") from None
            items.append(item)
    else:
        for no, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                items.append({"id": str(no), "question": line.strip()})
    ids = [it["id"] for it in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: question ids must be unique")
    return items


def done_ids(out: Path) -> set[str]:
    """Ids already answered in ``out``; a torn last line (crash mid-write) is ignored."""
    if not out.exists():
        return set()
    done = set()
    for line in out.read_text(encoding="utf-8").splitlines():
        try:
            done.add(str(json.loads(line)["id"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return done
