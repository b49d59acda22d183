"""Settings from the environment (`SEMSEARCH_*`) or a `.env` file. Read only by the edges."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .ingest import DEFAULT_INCLUDE, DEFAULT_MAX_FILE_BYTES

PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_notes_dir() -> Path:
    """The notes shipped with semsearch: `notes/` beside the package in a checkout, or the copy
    inside an installed wheel."""
    for candidate in (PACKAGE_DIR.parent / "notes", PACKAGE_DIR / "bundled_notes"):
        if candidate.is_dir():
            return candidate
    return PACKAGE_DIR.parent / "notes"


class Settings(BaseSettings):
    """Every setting semsearch reads. Each is documented in the README (a test checks this)."""

    model_config = SettingsConfigDict(env_prefix="SEMSEARCH_", env_file=".env", extra="ignore")

    notes_dir: Path = Field(default_factory=bundled_notes_dir,
                            description="Folder of notes that `semsearch index` and `ask` read.")
    index_dir: Path = Field(Path("index"), description="Where builds are written and published.")
    model: str = Field("sentence-transformers/all-MiniLM-L6-v2",
                       description="Embedding model (a registered name or a local model folder).")
    backend: Literal["auto", "torch"] = Field("auto", description="Embedding backend.")
    device: str = Field("auto", description="auto (cuda, then mps, then cpu), or a torch device.")
    top_k: int = Field(5, ge=1, le=50, description="Passages returned when none is asked for.")
    max_top_k: int = Field(50, ge=1, le=1000, description="The largest top_k a query may ask for.")
    max_query_chars: int = Field(2000, ge=1, description="Longest query accepted, in characters.")
    include: list[str] = Field(default_factory=lambda: list(DEFAULT_INCLUDE),
                               description="Glob patterns of files to index (JSON list).")
    max_file_bytes: int = Field(DEFAULT_MAX_FILE_BYTES, ge=1,
                                description="Files larger than this are skipped.")
    chunk_overlap_tokens: int = Field(32, ge=0, le=100,
                                      description="Tokens repeated between neighbouring chunks.")
    batch_size: int = Field(64, ge=1, description="Passages embedded per batch.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
