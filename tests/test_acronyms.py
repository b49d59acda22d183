"""Acronyms spelled out from the notes' own definitions (semsearch/acronyms.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from semsearch.acronyms import ACRONYMS_FILE, acronym_key, glossary_for, mine_glossary, read_glossary, spell_out, spells
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.fusion import RetrievalConfig
from semsearch.indexing import build_index
from semsearch.search import Searcher


@pytest.mark.parametrize(("letters", "words", "expected"), [
    ("vae", ["variational", "autoencoder"], True),  # a word may give more than one letter
    ("dbn", ["deep", "belief", "networks"], True),
    ("bow", ["bag", "of", "words"], True),  # a filler may give a letter
    ("rbm", ["restricted", "boltzmann", "machine"], True),
    ("poi", ["point", "of", "interest"], True),
    ("dbn", ["deep", "networks"], False),  # a letter left over
    ("dbn", ["deep", "belief", "networks", "today"], False),  # a word left over
    ("lr", ["learning", "rate", "of"], False),  # no filler at the ends
    ("dna", ["damage", "and", "nucleolar"], True),  # why a definition must stand by the acronym
])
def test_spells(letters: str, words: list[str], expected: bool) -> None:
    assert spells(letters, words) is expected


def test_acronym_key() -> None:
    assert acronym_key("VAE") == "vae"
    assert acronym_key("GANs") == "gan"
    assert acronym_key("ReLU") == "relu"
    assert acronym_key("Dropout") is None
    assert acronym_key("I") is None


def test_definitions_are_found_where_they_stand_by_the_acronym() -> None:
    glossary = mine_glossary([
        "DBN - deep belief networks, similar to a multi layer perceptron.",
        "### GRAPH NEURAL NETWORKS (GNN)",
        "* ELU: Exponential Linear Unit, seems to work better than ReLU",
        "[Teaching a VAE to draw](https://example.org/teaching-a-variational-autoencoder-vae-to-draw)",
        "Pixel art VAE and another VAE.",
        "A DNA test: damage and nucleolar DNA are unrelated words here.",
    ])
    assert glossary == {"dbn": "deep belief networks", "gnn": "graph neural networks",
                        "elu": "exponential linear unit", "vae": "variational autoencoder"}


def test_ambiguous_and_plural_definitions() -> None:
    glossary = mine_glossary([
        "Generative adversarial networks (GANs) train two nets.",
        "A generative adversarial network (GAN) again.",
        "glioblastoma multiforme (GBM) and glomerular basement membrane (GBM)",
    ])
    assert glossary == {"gan": "generative adversarial network"}  # GBM: two meanings, left alone


def test_lowercase_words_are_not_acronyms_where_they_are_usually_lowercase() -> None:
    slug = "https://example.org/interpreting-neurons-in-a-network"
    assert "in" not in mine_glossary(["Indiana (IN) is a state.", slug, "a word in a sentence"])
    assert mine_glossary(["VAE here, VAE there", "https://example.org/a-variational-autoencoder-vae"]) == {
        "vae": "variational autoencoder"}  # the capitalized form is the usual one: slugs count


def test_spell_out() -> None:
    glossary = {"vae": "variational autoencoder", "elu": "exponential linear unit", "gbm": "glioblastoma multiforme"}
    assert spell_out("VAE", glossary) == "VAE (variational autoencoder)"
    assert spell_out("ELU vs ReLU", glossary) == "ELU (exponential linear unit) vs ReLU"
    assert spell_out("VAEs for audio", glossary) == "VAEs (variational autoencoder) for audio"
    assert spell_out("variational autoencoder VAE", glossary) == "variational autoencoder VAE"
    assert spell_out("Glioblastoma multiforme (GBM) grows", glossary) == "Glioblastoma multiforme (GBM) grows"
    assert spell_out("GBM (a tumour)", glossary) == "GBM (a tumour)"  # the query defines it itself
    assert spell_out("vae", glossary) == "vae"  # typed lowercase: an ordinary word
    assert spell_out("VAE", {}) == "VAE"


class RecordingEmbedder(HashingEmbedder):
    """The hashing embedder, remembering every query text it was given."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries += texts
        return self.embed_documents(texts)


@pytest.fixture
def generative_notes(tmp_path: Path) -> Path:
    root = tmp_path / "gen"
    root.mkdir()
    (root / "models.md").write_text(
        "# Models\n\n## Autoencoders\n\n"
        "Variational autoencoder: maps pixels to a gaussian, blurry but similar images.\n\n"
        "## Reading\n\nA list of links about adversarial training and a VAE (variational autoencoder) tutorial.\n")
    (root / "garden.md").write_text("# Garden\n\nWater tomatoes early in the morning.\n")
    return root


def test_the_build_stores_the_glossary_and_the_query_embedding_uses_it(generative_notes: Path, tmp_path: Path) -> None:
    embedder = RecordingEmbedder()
    build_index(generative_notes, tmp_path / "index", embedder)
    searcher = Searcher.open(tmp_path / "index", embedder, retrieval=RetrievalConfig(fusion="dense"))
    assert ACRONYMS_FILE in searcher.build.manifest.files
    assert glossary_for(searcher.build) == {"vae": "variational autoencoder"}
    hits = searcher.search("VAE", top_k=2)
    assert embedder.queries == ["VAE (variational autoencoder)"]
    assert {h.chunk.heading_path[-1] for h in hits} == {"Autoencoders", "Reading"}

    off = Searcher.open(tmp_path / "index", embedder,
                        retrieval=RetrievalConfig(fusion="dense", spell_out_acronyms=False))
    off.search("VAE", top_k=2)
    assert embedder.queries[-1] == "VAE"


def test_a_build_without_a_glossary_expands_nothing(generative_notes: Path, tmp_path: Path) -> None:
    embedder = RecordingEmbedder()
    build_index(generative_notes, tmp_path / "index", embedder)
    build = Searcher.open(tmp_path / "index", embedder).build
    files = {name: digest for name, digest in build.manifest.files.items() if name != ACRONYMS_FILE}
    older = replace(build, manifest=replace(build.manifest, files=files))
    assert read_glossary(older) == {}
