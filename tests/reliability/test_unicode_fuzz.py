"""Random Unicode (every plane, line and paragraph separators, lone surrogates, control characters)
through every way text gets in: note text and file names through `semsearch index`, queries through
`ask`, the HTTP API and the Slack bot. Nothing may crash: 0 tracebacks, 0 failed builds, every
answer a result or one clear sentence."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import QueryError
from semsearch.indexing.build import build_index
from semsearch.live import LiveIndex
from semsearch.search import Searcher
from semsearch.settings import Settings
from services.api import create_app
from services.cli import ask
from services.slack.bot import Answerer

SPECIAL = "\u2028\u2029\u0085\x0b\x0c\x1c\x1d\x1e\x00\r\t\ufeff\u200b\u202e\ud800\udfff\udcff\U0010ffff\U0001f600"
TEXT = st.text(alphabet=st.one_of(st.characters(codec=None), st.sampled_from(SPECIAL)), max_size=80)
NAME = st.one_of(
    st.text(alphabet=st.one_of(st.characters(codec=None, exclude_characters="/\x00"), st.sampled_from(SPECIAL)),
            min_size=1, max_size=30),
    # what a file system really holds: bytes, undecodable ones included (`\xff` -> "\udcff")
    st.binary(min_size=1, max_size=24).filter(lambda b: b"/" not in b and b"\x00" not in b).map(os.fsdecode))
FIGURES: dict[str, int] = {"builds": 0, "files": 0, "queries": 0}


def _write(root: Path, name: str, text: str) -> bool:
    """Write a note under a hostile name; False when the file system cannot hold the name."""
    try:
        path = root / f"{name}.md"
        if path.name in (".md", "..md") or path.exists():
            return False
        path.write_bytes(text.encode("utf-8", "surrogatepass"))  # lone surrogates: invalid UTF-8 bytes
        return True
    except (OSError, UnicodeEncodeError, ValueError):
        return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(files=st.lists(st.tuples(NAME, TEXT), min_size=1, max_size=6))
def test_hostile_names_and_text_never_fail_a_build(tmp_path_factory: pytest.TempPathFactory,
                                                   files: list[tuple[str, str]]) -> None:
    root = tmp_path_factory.mktemp("notes")
    (root / "anchor.md").write_text("# Anchor\n\nWater the tomatoes early.\n")
    written = sum(_write(root, name, text) for name, text in files)
    report = build_index(root, tmp_path_factory.mktemp("index"), HashingEmbedder(), overlap_tokens=4)
    failed = [f for f in report.files if f.status == "failed"]
    assert not failed, failed
    FIGURES["builds"] += 1
    FIGURES["files"] += written


@pytest.fixture(scope="module")
def fuzz_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    notes = tmp_path_factory.mktemp("fuzz-notes")
    (notes / "a.md").write_text("# Dropout\n\nInverted dropout scales activations.\u2028Next.\n")
    (notes / "b\u2029c.md").write_text("# Keys\n\nRotate API keys every 90 days.\n")
    index_dir = tmp_path_factory.mktemp("fuzz-index")
    build_index(notes, index_dir, HashingEmbedder())
    return index_dir


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=TEXT)
def test_hostile_queries_are_answered_or_refused_in_one_sentence(fuzz_index: Path, query: str) -> None:
    searcher = Searcher.open(fuzz_index, HashingEmbedder())
    try:
        searcher.search(query, top_k=3)
    except QueryError as exc:
        assert str(exc).endswith(".") and "\n" not in str(exc)
    FIGURES["queries"] += 1


@pytest.fixture(scope="module")
def api(fuzz_index: Path) -> Any:
    app = create_app(Settings(index_dir=fuzz_index, model="hashing", rate_limit=0), reload_interval=60.0)
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as client:
        yield client


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=TEXT)
def test_hostile_queries_through_the_api(api: TestClient, query: str) -> None:
    raw = json.dumps({"query": query, "top_k": 2})  # lone surrogates travel as \\udXXX escapes
    response = api.post("/query", content=raw, headers={"content-type": "application/json"})
    assert response.status_code in (200, 422), response.text
    body = response.json()
    assert "results" in body or set(body["error"]) == {"code", "message"}
    FIGURES["queries"] += 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=TEXT)
def test_hostile_questions_to_the_slack_bot(fuzz_index: Path, question: str) -> None:
    live = LiveIndex(fuzz_index, HashingEmbedder(), reload_interval=60.0)
    live.refresh(force=True)
    answer = Answerer(live.searcher, Settings(model="hashing"))
    text, blocks = answer(question, shareable=False)
    assert text and blocks
    json.dumps(blocks)  # what Slack gets is JSON-serializable
    FIGURES["queries"] += 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=TEXT)
def test_hostile_questions_to_ask(fuzz_index: Path, question: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_INDEX_DIR", str(fuzz_index))
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")
    from semsearch.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(ask, ["--", question])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    FIGURES["queries"] += 1


def test_figures(figures: dict[str, Any]) -> None:
    """The counts, for docs/reliability.md (they run before this test in file order)."""
    figures.update(FIGURES, pid=os.getpid())
