"""Passage metadata (tags, dates), the filter syntax typed into queries, and filter validation."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.errors import FilterError
from semsearch.filters import Filter, period_bounds
from semsearch.indexing.build import build_index
from semsearch.query_syntax import parse_query
from semsearch.reading.documents import parse_note
from semsearch.reading.metadata import front_matter_date, front_matter_tags, inline_tags
from semsearch.search import Searcher


def test_front_matter_tags_as_a_list_or_a_string_lowercase() -> None:
    assert front_matter_tags({"tags": ["ML", "#Audio"], "keywords": "k8s, Ops infra"}) == [
        "ml", "audio", "k8s", "ops", "infra"]
    assert front_matter_tags({"tags": [1.5, True, None, "x"]}) == ["1.5", "x"]


@pytest.mark.parametrize(("body", "tags"), [
    ("We use #Kubernetes and #k8s/ingress here.", ["kubernetes", "k8s/ingress"]),
    ("# Heading\n## Another\nnot a tag", []),
    ("See issue #123 and https://example.com/page#section and &#39;", []),
    ("```\n#not-a-tag in code\n```\nafter #real", ["real"]),
    ("inline `#code` and (#paren) ok", ["paren"]),
    ("word#glued is not a tag, #tail.", ["tail"]),
])
def test_inline_tags_skip_headings_code_urls_and_numbers(body: str, tags: list[str]) -> None:
    assert inline_tags(body) == tags


def test_dates_come_from_front_matter_first_present() -> None:
    assert front_matter_date({"date": date(2025, 3, 4)}) == "2025-03-04"
    assert front_matter_date({"created": "2024-12-01T10:00:00Z", "updated": "2025-01-01"}) == "2024-12-01"
    assert front_matter_date({"date": "soon", "updated": "2025-02-30", "created": "2023-05-06"}) == "2023-05-06"
    assert front_matter_date({"title": "x"}) is None


def test_a_note_carries_tags_and_date_and_chunks_get_the_file_time_without_one(
        tmp_path: Path, embedder: HashingEmbedder) -> None:
    note = parse_note(b"---\ntags: ops\ndate: 2025-06-07\n---\n# Keys\n\nRotate #Vault keys.\n", source="a.md",
                      suffix=".md")
    assert note.tags == ("ops", "vault") and note.date == "2025-06-07"
    assert parse_note(b"plain #words here", source="a.txt", suffix=".txt").tags == ()  # no inline tags in text
    root = tmp_path / "n"
    root.mkdir()
    (root / "old.md").write_text("# Old\n\nAn old note about #gardening.\n")
    os.utime(root / "old.md", (1_600_000_000, 1_600_000_000))  # 2020-09-13 UTC
    build_index(root, tmp_path / "index", embedder)
    chunk = Searcher.open(tmp_path / "index", embedder).index.chunks[0]
    assert chunk.tags == ("gardening",) and chunk.date == "2020-09-13"


@pytest.mark.parametrize(("value", "bounds"), [
    ("2025", ("2025-01-01", "2025-12-31")), ("2024-02", ("2024-02-01", "2024-02-29")),
    ("2025-02", ("2025-02-01", "2025-02-28")), ("2025-06-07", ("2025-06-07", "2025-06-07")),
])
def test_periods_span_from_their_start_to_their_end(value: str, bounds: tuple[str, str]) -> None:
    assert period_bounds(value, name="since") == bounds


@pytest.mark.parametrize("value", ["2025-13", "2025-02-30", "25", "2025/01", "yesterday", "", "2025-1"])
def test_a_malformed_date_is_one_clear_sentence(value: str) -> None:
    with pytest.raises(FilterError, match=r"^since must be a date as YYYY, YYYY-MM or YYYY-MM-DD, got .*\.$"):
        Filter(since=value)


def test_filters_refuse_bad_values_with_one_sentence() -> None:
    assert Filter(since="2025-07", until="2025-06").date_range == ("2025-07-01", "2025-06-30")  # matches nothing
    with pytest.raises(FilterError, match="starts with a letter"):
        Filter(tags_all=("123",))
    with pytest.raises(FilterError, match="at least one"):
        Filter(collections=())
    assert Filter(tags_any=("#K8s",)).tags_any == ("k8s",)
    assert Filter(since="2025-01", until="2025").date_range == ("2025-01-01", "2025-12-31")


def test_the_query_syntax_splits_filters_from_the_question() -> None:
    parsed = parse_query("in:work in:reading #kubernetes tag:k8s anytag:ops,infra path:ops/* "
                         "since:2025-01 until:2025-06 how do we rotate keys")
    assert parsed.text == "how do we rotate keys"
    assert parsed.filter == Filter(collections=("work", "reading"), tags_all=("kubernetes", "k8s"),
                                   tags_any=("ops", "infra"), path="ops/*", since="2025-01", until="2025-06")
    kept = parse_query("fix #123 see https://x.org/a#b and C# or mailto:a@b in:")
    assert kept.text == "fix #123 see https://x.org/a#b and C# or mailto:a@b in:" and kept.filter.is_empty
    with pytest.raises(FilterError, match="until must be a date"):
        parse_query("until:June keys")
