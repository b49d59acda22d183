"""Settings from the environment (`SEMSEARCH_*`) or a `.env` file. Read by the edges and by
`wiring`, never by the rest of the core, whose functions take explicit values."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .ranking.fusion import Normalization
from .reading.files import DEFAULT_INCLUDE, DEFAULT_MAX_FILE_BYTES

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
                       description="Embedding model (a registered name, multilingual-e5-small with "
                       "the e5 extra, or a local model folder).")
    backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        "auto", description="Embedding backend: auto (ONNX once exported, else torch), onnx, onnx-int8.")
    device: str = Field("auto", description="auto (cuda, then mps, then cpu), or a torch device.")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="Arithmetic of the torch backend: auto (fp16 on CUDA, bf16 autocast on a CPU "
        "with native bf16, else fp32), fp32, bf16, fp16.")
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
    watch_debounce_ms: int = Field(500, ge=10, le=60_000, description="`semsearch index --watch` "
                                   "syncs once the notes folder has been quiet this long.")
    fusion: Literal["rrf", "blend", "dense", "lexical"] = Field(
        "blend", description="How dense and BM25 results are combined: blend (weighted "
        "normalized scores), rrf (reciprocal rank fusion), or one retriever alone.")
    fusion_normalization: Normalization = Field(
        "zscore", description="How `blend` puts each retriever's scores on one scale over the candidates: "
        "zscore ((score - mean) / standard deviation) or minmax.")
    rrf_k: int = Field(60, ge=1, description="The k of reciprocal rank fusion, 1 / (k + rank).")
    dense_weight: float = Field(0.5, ge=0, le=1, description="Weight of the dense score in `blend` when "
                                "the sentence stage is off (sentence_weight 0, or a build without sentence vectors).")
    chunk_weight: float = Field(0.2, ge=0, le=1, description="Weight of the chunk cosine in `blend` with "
                                "the sentence stage; BM25 gets 1 - chunk_weight - sentence_weight.")
    sentence_weight: float = Field(0.4, ge=0, le=1, description="Weight of a passage's best sentence cosine "
                                   "in `blend` (sentence-level matching); 0: off, and `semsearch index` "
                                   "then skips the sentence vectors.")
    fusion_pool: int = Field(100, ge=1, le=10000, description="Candidates taken from each retriever.")
    spell_out_acronyms: bool = Field(True, description="Embed an acronym the notes define with its "
                                     "definition: `VAE` as `VAE (variational autoencoder)`.")
    exact_boost: bool = Field(True, description="Rank passages holding a quoted phrase or an "
                              "identifier of the query (keras.layers.Dropout) first.")
    collapse: bool = Field(True, description="Show a passage held in several files once, "
                           "with the other places in `also_in`.")
    collapse_threshold: float = Field(0.6, gt=0, le=1, description="Shingle containment from "
                                      "which two chunks count as the same passage.")
    abstain_threshold: float = Field(0.3, ge=0, le=1, description="Calibrated score under which "
                                     "`ask` answers that nothing in the notes answers the question.")
    cache_dir: Path = Field(Path.home() / ".cache" / "semsearch", description="Cache of BEIR "
                            "corpus vectors and indexes (`semsearch eval --beir`).")
    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="API keys the HTTP service accepts (JSON list); none means no auth, loopback only.")
    api_keys_file: Path | None = Field(
        None, description="File of API keys for the HTTP service, one per line (# starts a comment).")
    admin_api_keys: list[SecretStr] = Field(
        default_factory=list, description="API keys that may also call admin routes (JSON list).")
    rate_limit: float = Field(50.0, ge=0, description="Requests per second each API key may make to "
                              "protected routes (without keys: each non-loopback client address); 0: off.")
    rate_burst: int = Field(100, ge=1, description="Requests a key may make at once before `rate_limit` applies.")
    query_timeout: float = Field(10.0, gt=0, description="Seconds a `POST /query` may take before a 504.")
    host: str = Field("127.0.0.1",
                      description="Address `semsearch serve` binds to; a non-loopback one needs a key.")
    port: int = Field(8000, ge=0, le=65535, description="Port `semsearch serve` listens on.")
    workers: int = Field(1, ge=1, le=64, description="Server processes `semsearch serve` starts.")
    max_body_bytes: int = Field(65536, ge=1, description="Largest HTTP request body accepted, in bytes.")
    ray_workers: int = Field(0, ge=0, description="Embedding actors of `semsearch index --ray`; 0: one "
                             "per GPU of the Ray cluster, else one per CPU.")
    ray_min_replicas: int = Field(1, ge=1, description="Fewest replicas of `semsearch serve --ray` "
                                  "(Ray Serve autoscaling lower bound).")
    ray_max_replicas: int = Field(2, ge=1, description="Most replicas of `semsearch serve --ray` "
                                  "(Ray Serve autoscaling upper bound).")
    slack_bot_token: SecretStr | None = Field(
        None, description="Slack bot token (xoxb-...) the Slack bot posts with.")
    slack_signing_secret: SecretStr | None = Field(
        None, description="Slack signing secret; verifies requests in HTTP mode.")
    slack_app_token: SecretStr | None = Field(
        None, description="Slack app-level token (xapp-..., connections:write) for Socket Mode.")
    slack_mode: Literal["http", "socket"] = Field(
        "http", description="How the Slack bot receives events: http (Events API) or socket.")
    slack_feedback_path: Path = Field(Path("slack-feedback.jsonl"),
                                      description="Append-only JSONL file of 👍/👎 clicks in Slack.")
    slack_api_url: str = Field("https://slack.com/api/", description="Base URL of the Slack Web API "
                               "(change it only for a proxy or a test stand-in).")
    slack_events_path: Path = Field(Path("slack-events.sqlite3"), description="SQLite file of recent "
                                    "Slack event ids, shared by server processes so a retry is answered once.")
    slack_feedback_salt: SecretStr = Field(
        SecretStr("semsearch"), description="Salt hashed with Slack user ids in the feedback file.")
    notes_base_url: str | None = Field(
        None, description="Base URL of the notes (e.g. a repo's blob URL); API results (`url`), the "
        "search page and Slack answers link to it.")
    slack_port: int = Field(3000, ge=0, le=65535,
                            description="Port the Slack bot listens on (127.0.0.1) in HTTP mode.")

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.chunk_weight + self.sentence_weight > 1:
            raise ValueError("SEMSEARCH_CHUNK_WEIGHT + SEMSEARCH_SENTENCE_WEIGHT must be at most 1")
        if self.top_k > self.max_top_k:
            raise ValueError(f"SEMSEARCH_TOP_K ({self.top_k}) must be at most SEMSEARCH_MAX_TOP_K ({self.max_top_k})")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
