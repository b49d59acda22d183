"""Calibrated scores: P(the corpus answers the query), judged from one passage, by logistic
regression on four features chosen because they mean the same on any corpus and model:

* `gap`: the passage's cosine minus the query's 10th best cosine (how far it stands out from the
  query's own background; raw cosines differ between corpora: short keyword queries against long
  notes score lower than claims against abstracts);
* `agree`: the passage is in the top 10 of both the dense and the BM25 ranking;
* `coverage`: the idf-weighted share of the query's terms that the passage contains; a term that
  occurs nowhere in the corpus counts as missing with the highest idf ("the notes never mention
  NCCL");
* `sentence_gap`: the passage's best sentence cosine minus the 10th best such cosine among the
  query's candidates (`gap` for the one sentence that answers; the chunk cosine in a build without
  sentence vectors).

Fitted on three kinds of corpus at once (`evaluation.fitting`): BEIR SciFact *training* queries
and the two notes dev sets, each query once as it is (label 1 when the corpus answers it, 0 for an
unanswerable one) and, when answerable, once with its relevant passages removed from the corpus (a
plausible question the corpus cannot answer, label 0), on the top hit. Every set and, within it,
both labels weigh the same, so 0.5 is "as likely answered as not"; one threshold decides when to
say "nothing in your notes answers this".

The first hit's score is that probability; each later one (in `blend`) is it lowered by `decay`
times how far the hit's fused score falls below the first's, which predicts whether ranks 2-10
hold an answer better than each passage's own features do, and follows the ranking without ties.

Refit with `semsearch eval --fit-calibration --beir DIR --split train --with-notes INDEX_DIR
QUERIES ...` (see docs/quality.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..index.lexical import LexicalIndex

logger = logging.getLogger(__name__)

REFERENCE_RANK = 10  # `gap` is measured against the query's 10th best cosine


@dataclass(frozen=True, slots=True)
class Calibration:
    """P(answered) = sigmoid(bias + w_gap * gap + w_agree * agree + w_coverage * coverage +
    w_sentence_gap * sentence_gap); `decay`: the logit lost per unit of fused score below the first hit."""

    bias: float
    w_gap: float
    w_agree: float
    w_coverage: float
    w_sentence_gap: float = 0.0
    decay: float = 0.0
    fitted_on: str = ""

    def probability(self, gap: np.ndarray, agree: np.ndarray, coverage: np.ndarray,
                    sentence_gap: np.ndarray | None = None) -> np.ndarray:
        """The calibrated score of each passage (arrays of equal length; no `sentence_gap`: 0)."""
        z = self.bias + self.w_gap * gap + self.w_agree * agree + self.w_coverage * coverage
        if sentence_gap is not None:
            z = z + self.w_sentence_gap * sentence_gap
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0))), dtype=np.float64)


# Fitted per model (see module docstring); unknown models get the MiniLM fit, a rough guide.
CALIBRATIONS: dict[str, Calibration] = {
    "sentence-transformers/all-MiniLM-L6-v2": Calibration(
        bias=-1.5435, w_gap=5.2386, w_agree=-0.8973, w_coverage=2.152, w_sentence_gap=2.0774, decay=1.8,
        fitted_on="scifact/train (809 queries) + notes-dev (30) + til-dev (60): top hit as asked and with "
                  "the answers removed"),
}
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def calibration_for(model_name: str) -> Calibration:
    known = CALIBRATIONS.get(model_name.removesuffix("#int8"))
    if known is None:
        logger.info("no score calibration for %s; using the %s one", model_name, DEFAULT_MODEL)
        return CALIBRATIONS[DEFAULT_MODEL]
    return known


def term_coverage(lexical: LexicalIndex, query: str, ids: np.ndarray) -> np.ndarray:
    """Idf-weighted share of the query's distinct terms found in each chunk of `ids`; terms absent
    from the corpus weigh the most any term can. A query with no terms at all (stop words, single
    letters: "the", "x") covers nothing: 0.0, so it is not answered confidently."""
    stems = list(dict.fromkeys(lexical.query_stems(query)))
    if not stems or lexical.size == 0:
        return np.zeros(len(ids), dtype=np.float64)
    n = lexical.size
    found = np.zeros(len(ids), dtype=np.float64)
    total = 0.0
    for stem in stems:
        rows = lexical.rows_with(stem)
        weight = lexical.idf(len(rows))
        total += weight
        if len(rows):
            holds = np.zeros(n, dtype=bool)
            holds[rows] = True
            found += weight * holds[ids]
    return found / total if total > 0 else np.ones(len(ids), dtype=np.float64)
