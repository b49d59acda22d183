"""Scoring a query set over the notes: hit@k, MRR@10, span recall@10, answerable/unanswerable
separation; the rules of `shared/eval/README.md`, overall and per query kind."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SemsearchError
from ..records import Hit

_DROP = re.compile(r"[*_`#>\[\]()\\]")
_WS = re.compile(r"\s+")

Run = dict[str, list[dict[str, Any]]]  # query id -> [{"text", "score", ...}] best first


@dataclass(frozen=True, slots=True)
class EvalQuery:
    id: str
    query: str
    answers: tuple[str, ...]
    kind: str

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def normalize(text: str) -> str:
    """Lowercase, delete markdown symbols and backslashes, collapse whitespace."""
    return _WS.sub(" ", _DROP.sub("", text.lower())).strip()


def load_queries(path: Path) -> list[EvalQuery]:
    """Read a query set (one JSON object per line: id, query, answers, kind)."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): U+2028 is text in JSON
    except OSError as exc:
        raise SemsearchError(f"Cannot read the query set {path}: {exc.strerror or exc}.") from None
    queries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            queries.append(EvalQuery(str(data["id"]), data["query"], tuple(data.get("answers") or ()),
                                     data.get("kind", "unknown")))
        except (ValueError, KeyError, TypeError) as exc:
            raise SemsearchError(f"{path}:{number} is not a query record ({exc}).") from None
    return queries


def hits_to_results(hits: Iterable[Hit]) -> list[dict[str, Any]]:
    return [{"text": h.chunk.text, "score": h.score, "source": h.chunk.source,
             "chunk_id": h.chunk.id} for h in hits]


def score_run(queries: Sequence[EvalQuery], run: Run, *, depth: int = 10) -> dict[str, float]:
    """Metrics over the answerable queries, plus score separation against unanswerable ones."""
    hit1: list[float] = []
    hit5: list[float] = []
    mrr: list[float] = []
    span_recall: list[float] = []
    top_answerable: list[float] = []
    top_unanswerable: list[float] = []
    for q in queries:
        results = run.get(q.id, [])
        top = results[0].get("score") if results else None
        if not q.answerable:
            if top is not None:
                top_unanswerable.append(float(top))
            continue
        if top is not None:
            top_answerable.append(float(top))
        spans = [normalize(a) for a in q.answers]
        texts = [normalize(r["text"]) for r in results[:depth]]
        relevant = [any(s in t for s in spans) for t in texts]
        hit1.append(float(any(relevant[:1])))
        hit5.append(float(any(relevant[:5])))
        first = next((i for i, r in enumerate(relevant) if r), None)
        mrr.append(0.0 if first is None else 1.0 / (first + 1))
        span_recall.append(sum(any(s in t for t in texts) for s in spans) / len(spans))
    out: dict[str, float] = {
        "hit@1": _mean(hit1), "hit@5": _mean(hit5), "mrr@10": _mean(mrr),
        "span_recall@10": _mean(span_recall), "n_answerable": float(len(mrr)),
        "n_unanswerable": float(sum(not q.answerable for q in queries)),
    }
    if top_answerable and top_unanswerable:
        wins = sum((a > u) + 0.5 * (a == u) for a in top_answerable for u in top_unanswerable)
        out["separation"] = wins / (len(top_answerable) * len(top_unanswerable))
    return out


def score_by_kind(queries: Sequence[EvalQuery], run: Run, *, depth: int = 10) -> dict[str, dict[str, float]]:
    """`score_run` overall and for each query kind."""
    report = {"all": score_run(queries, run, depth=depth)}
    for kind in sorted({q.kind for q in queries}):
        report[kind] = score_run([q for q in queries if q.kind == kind], run, depth=depth)
    return report


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def write_run(path: Path, run: Run) -> None:
    """Write a run in the format `score.py --score` reads: {"id", "results": [...]} per line."""
    with path.open("w", encoding="utf-8") as handle:
        for qid, results in run.items():
            handle.write(json.dumps({"id": qid, "results": results}, ensure_ascii=False) + "\n")
