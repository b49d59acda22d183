"""Shared fixtures: a deterministic embedder, small note folders, a built index."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index
from semsearch.settings import bundled_notes_dir, get_settings

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test starts from default settings with its own index directory, and the per-user
    folders (the default index's data folder, the config file's folder) point into the test's
    tmp dir, never at the real user's."""
    for name in list(__import__("os").environ):
        if name.startswith("SEMSEARCH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    monkeypatch.setenv("SEMSEARCH_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    """The test's index directory (where SEMSEARCH_INDEX_DIR points; nothing built yet)."""
    return tmp_path / "index"


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def notes_dir(tmp_path: Path) -> Path:
    """A copy of the bundled notes."""
    target = tmp_path / "notes"
    shutil.copytree(bundled_notes_dir(), target)
    return target


def write_notes(root: Path, files: dict[str, str]) -> Path:
    """Write each `path: text` of `files` under `root` (UTF-8), making folders; returns `root`."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def acronym_notes(tmp_path: Path) -> Path:
    """A note that explains VAE without naming it, one that defines the acronym, and a third."""
    return write_notes(tmp_path / "acronyms", {
        "models.md": "# Models\n\n## Autoencoders\n\n"
                     "Variational autoencoder: maps pixels to a gaussian, blurry but similar images.\n",
        "links.md": "# Reading\n\nA list of links about adversarial training and a VAE (variational autoencoder) "
                    "tutorial.\n",
        "garden.md": "# Garden\n\nWater tomatoes early in the morning.\n",
    })


@pytest.fixture
def tiny_notes(tmp_path: Path) -> Path:
    """Three small notes with distinct topics."""
    return write_notes(tmp_path / "tiny", {
        "keys.md": "# Operations\n\n## Rotating API keys\n\nRotate API keys every 90 days with the vault CLI.\n",
        "dropout.md": "---\ntitle: Regularization\ntags: [ml, keras]\n---\n# Dropout\n\n"
                      "Inverted dropout scales activations during training so testing needs no change.\n",
        "garden.txt": "Tomatoes\n\nWater tomatoes early in the morning.\n",
    })


@pytest.fixture
def tiny_index(tiny_notes: Path, index_dir: Path, embedder: HashingEmbedder) -> Path:
    build_index(tiny_notes, index_dir, embedder)
    return index_dir
