"""Bulk document jobs go to torch in bf16 on CPUs with native bf16; queries and small jobs stay on
the fast-loading embedder; the bf16 vectors are the fp32 vectors to within 1e-4 cosine."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from semsearch.embedders.bulk import BulkSwitchingEmbedder, SupportsBulk
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.embedders.sentence_transformer import cpu_has_native_bf16, pick_precision
from semsearch.indexing.build import build_index
from semsearch.indexing.reuse import embed_in_batches


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting the texts it embeds."""

    def __init__(self, name: str = "hashing") -> None:
        self.model_name = name
        self.embedded = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return super().embed_documents(texts)


def switching(min_chars: int) -> tuple[BulkSwitchingEmbedder, CountingEmbedder, list[CountingEmbedder]]:
    light = CountingEmbedder()
    loaded: list[CountingEmbedder] = []

    def load() -> CountingEmbedder:
        loaded.append(CountingEmbedder())
        return loaded[-1]

    return BulkSwitchingEmbedder(light, load, min_chars=min_chars), light, loaded


def test_small_jobs_and_queries_never_load_the_bulk_backend() -> None:
    embedder, light, loaded = switching(min_chars=1000)
    assert isinstance(embedder, SupportsBulk)
    vectors = embed_in_batches(embedder, ["short text"] * 10, batch_size=4)
    embedder.embed_queries(["a query " * 500])
    assert loaded == [] and light.embedded == 10
    assert vectors.shape == (10, light.dim)


def test_a_large_job_is_embedded_by_the_bulk_backend_loaded_once() -> None:
    embedder, light, loaded = switching(min_chars=1000)
    texts = [f"passage {i} about dropout and regularization" for i in range(100)]
    first = embed_in_batches(embedder, texts, batch_size=16)
    embed_in_batches(embedder, texts, batch_size=16)
    assert len(loaded) == 1 and loaded[0].embedded == 200 and light.embedded == 0
    assert np.allclose(first, light.embed_documents(texts))  # same model: same vectors


def test_a_bulk_backend_of_another_model_is_refused() -> None:
    embedder = BulkSwitchingEmbedder(CountingEmbedder(), lambda: CountingEmbedder("other"), min_chars=1)
    with pytest.raises(ValueError, match="other"):
        embedder.for_bulk(["text"])


def test_a_build_through_the_switching_embedder_matches_a_plain_one(tmp_path: Path, tiny_notes: Path) -> None:
    embedder, _, loaded = switching(min_chars=10)
    report = build_index(tiny_notes, tmp_path / "switched", embedder)
    plain = build_index(tiny_notes, tmp_path / "plain", HashingEmbedder())
    assert loaded and report.chunks == plain.chunks


def test_precision_choice() -> None:
    assert pick_precision("cuda") == "fp16"
    assert pick_precision("cpu") == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert pick_precision("mps") == "fp32"
    assert pick_precision("cpu", "fp32") == "fp32"
    with pytest.raises(ValueError, match="bf16"):
        pick_precision("cpu", "int4")


@pytest.mark.slow
def test_bf16_vectors_match_fp32_on_the_notes() -> None:
    from semsearch.embedders.models import resolve_model
    from semsearch.embedders.sentence_transformer import SentenceTransformerEmbedder
    from semsearch.indexing.build import collect_chunks
    from semsearch.reading.files import DEFAULT_INCLUDE, DEFAULT_MAX_FILE_BYTES
    from semsearch.settings import bundled_notes_dir

    spec = resolve_model("all-MiniLM-L6-v2")
    fp32 = SentenceTransformerEmbedder(spec, device="cpu", precision="fp32")
    bf16 = SentenceTransformerEmbedder(spec, device="cpu", batch_size=16, precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    chunks, _, _ = collect_chunks(bundled_notes_dir(), fp32, include=DEFAULT_INCLUDE,
                                  max_file_bytes=DEFAULT_MAX_FILE_BYTES, overlap_tokens=32)
    texts = [c.embed_text for c in chunks][:120] + ["what is inverted dropout", "x " * 600]
    cosine = np.sum(fp32.embed_documents(texts) * bf16.embed_documents(texts), axis=1)
    assert cosine.min() >= 0.9999


class BatchRecordingEmbedder(HashingEmbedder):
    """The hashing embedder (a token is a word), recording each batch it is given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return super().embed_documents(texts)


def test_batches_hold_texts_of_about_one_length_in_model_tokens_not_characters() -> None:
    embedder = BatchRecordingEmbedder()
    # by characters the order would be 34, 15, 7, 3; by tokens (words, here) it is 4, 2, 1, 1
    texts = ["x y", "supercalifragilisticexpialidocious", "a b c d", "onelongwordhere"]
    vectors = embed_in_batches(embedder, texts, batch_size=2)
    assert embedder.batches == [["a b c d", "x y"], ["supercalifragilisticexpialidocious", "onelongwordhere"]]
    assert np.allclose(vectors, HashingEmbedder().embed_documents(texts))  # in the input order
