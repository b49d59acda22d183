"""The core never imports the edges' frameworks; the public API is what __all__ says."""

from __future__ import annotations

import subprocess
import sys

import semsearch


def test_core_does_not_import_web_slack_ray_or_torch() -> None:
    code = (
        "import sys, semsearch, semsearch.search, semsearch.indexing, services.cli, semsearch.evaluation, "
        "semsearch.indexing.ray, semsearch.indexing.watch, semsearch.index.status, semsearch.index.sentences\n"
        "bad = [m for m in ('fastapi', 'uvicorn', 'slack_bolt', 'torch', 'sentence_transformers', 'ray') "
        "if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_all_is_sorted_and_complete() -> None:
    assert semsearch.__all__ == sorted(semsearch.__all__)
    for name in semsearch.__all__:
        assert hasattr(semsearch, name)
