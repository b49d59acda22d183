"""Acronyms spelled out from the notes' own definitions (semsearch/acronyms.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.index.glossary import (
    Glossary,
    acronym_key,
    mine_glossary,
    read_glossary,
    spell_out,
    spells,
)
from semsearch.index.loader import GLOSSARY_FILE
from semsearch.indexing.build import build_index
from semsearch.ranking.fusion import RetrievalConfig
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
    ]).definitions
    assert glossary == {"dbn": "deep belief networks", "gnn": "graph neural networks",
                        "elu": "exponential linear unit", "vae": "variational autoencoder"}


def test_ambiguous_and_plural_definitions() -> None:
    glossary = mine_glossary([
        "Generative adversarial networks (GANs) train two nets.",
        "A generative adversarial network (GAN) again.",
        "glioblastoma multiforme (GBM) and glomerular basement membrane (GBM)",
    ]).definitions
    assert glossary == {"gan": "generative adversarial network"}  # GBM: two meanings, left alone


def test_lowercase_words_are_not_acronyms_where_they_are_usually_lowercase() -> None:
    slug = "https://example.org/interpreting-neurons-in-a-network"
    texts = ["Intelligent Networks (IN) are a telephony idea.", slug, "a word in a sentence"]
    # from the capitalized use only (not the slug's "interpreting neurons in"), and a query's `in` is a word
    assert mine_glossary(texts) == Glossary({"in": "intelligent networks"}, frozenset())
    glossary = mine_glossary(["VAE here, VAE there", "https://example.org/a-variational-autoencoder-vae"])
    assert glossary == Glossary({"vae": "variational autoencoder"}, frozenset({"vae"}))  # slugs count
    texts = ["Length of stay (LOS) rose; LOS fell.", "A loss, another loss, no loss.", "Left atrium (LA), LA."]
    glossary = mine_glossary(texts)
    assert glossary.definitions == {"los": "length of stay", "la": "left atrium"}
    assert glossary.capitalized == frozenset()  # `loss` is a word, not LOSs; `la`: too short to trust
    assert spell_out("weight loss after surgery", glossary) == "weight loss after surgery"
    assert spell_out("LOS after surgery", glossary) == "LOS (length of stay) after surgery"


def test_spell_out() -> None:
    glossary = Glossary({"vae": "variational autoencoder", "elu": "exponential linear unit",
                         "gbm": "glioblastoma multiforme", "use": "universal sentence encoder"}, frozenset({"vae"}))
    assert spell_out("VAE", glossary) == "VAE (variational autoencoder)"
    assert spell_out("ELU vs ReLU", glossary) == "ELU (exponential linear unit) vs ReLU"
    assert spell_out("VAEs for audio", glossary) == "VAEs (variational autoencoder) for audio"
    assert spell_out("variational autoencoder VAE", glossary) == "variational autoencoder VAE"
    assert spell_out("Glioblastoma multiforme (GBM) grows", glossary) == "Glioblastoma multiforme (GBM) grows"
    assert spell_out("GBM (a tumour)", glossary) == "GBM (a tumour)"  # the query defines it itself
    assert spell_out("what is a vae", glossary) == "what is a vae (variational autoencoder)"
    assert spell_out("vaes", glossary) == "vaes (variational autoencoder)"
    assert spell_out("how to use USE", glossary) == "how to use USE (universal sentence encoder)"
    assert spell_out("VAE", Glossary()) == "VAE"


class RecordingEmbedder(HashingEmbedder):
    """The hashing embedder, remembering every query text it was given."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries += texts
        return self.embed_documents(texts)


def test_the_build_stores_the_glossary_and_the_query_embedding_uses_it(acronym_notes: Path, tmp_path: Path) -> None:
    embedder = RecordingEmbedder()
    build_index(acronym_notes, tmp_path / "index", embedder)
    searcher = Searcher.open(tmp_path / "index", embedder, retrieval=RetrievalConfig(fusion="dense"))
    assert GLOSSARY_FILE in searcher.manifest.files
    assert searcher.index.glossary.definitions == {"vae": "variational autoencoder"}
    result = searcher.search("VAE", top_k=2)
    assert embedder.queries == ["VAE (variational autoencoder)"]
    assert result.searched_as == "VAE (variational autoencoder)" and result.query == "VAE"
    assert {h.chunk.heading_path[-1] for h in result.hits} == {"Autoencoders", "Reading"}

    off = Searcher.open(tmp_path / "index", embedder,
                        retrieval=RetrievalConfig(fusion="dense", spell_out_acronyms=False))
    assert off.search("VAE", top_k=2).searched_as == "VAE"
    assert embedder.queries[-1] == "VAE"


def test_the_stored_glossary_round_trips(acronym_notes: Path, tmp_path: Path) -> None:
    build_index(acronym_notes, tmp_path / "index", HashingEmbedder())
    index = Searcher.open(tmp_path / "index", HashingEmbedder()).index
    raw = (index.path / GLOSSARY_FILE).read_bytes()
    assert read_glossary(raw) == index.glossary != Glossary()
