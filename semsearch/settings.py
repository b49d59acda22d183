"""Settings from the per-user TOML config file, a `.env` file and the environment (`SEMSEARCH_*`),
in that order of precedence (an edge's command-line flags come last, over all of them). Read by the
edges and by `wiring`, never by the rest of the core, whose functions take explicit values.

The index lives in the per-user data folder by default (platformdirs: ~/.local/share/semsearch/index
on Linux), so every working directory finds the same one; the config file in the per-user config
folder (~/.config/semsearch/config.toml), or wherever `SEMSEARCH_CONFIG_FILE` says."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from .errors import SemsearchError
from .ranking.fusion import Normalization
from .reading.files import DEFAULT_INCLUDE, DEFAULT_MAX_FILE_BYTES
from .reading.limits import DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_PAGES, DEFAULT_READ_SECONDS

PACKAGE_DIR = Path(__file__).resolve().parent
APP_NAME = "semsearch"
CONFIG_FILE_ENV = "SEMSEARCH_CONFIG_FILE"
# settings holding a path: `~` is expanded, and a relative path in the config file is relative to it
PATH_FIELDS = ("notes_dir", "index_dir", "cache_dir", "api_keys_file", "slack_feedback_path",
               "slack_events_path", "config_file")


class ConfigFileError(SemsearchError):
    """The config file is not valid TOML."""


def user_data_dir() -> Path:
    """The per-user data folder (platformdirs; honours XDG_DATA_HOME on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_index_dir() -> Path:
    return user_data_dir() / "index"


def config_file_path() -> Path:
    """`$SEMSEARCH_CONFIG_FILE`, else config.toml in the per-user config folder (XDG_CONFIG_HOME)."""
    if os.environ.get(CONFIG_FILE_ENV):
        return Path(os.environ[CONFIG_FILE_ENV]).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


class ConfigFileSource(TomlConfigSettingsSource):
    """The config file: flat `name = value` keys, the setting names without the prefix."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        self.path = path
        super().__init__(settings_cls, toml_file=path)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            data = dict(super()._read_file(file_path))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigFileError(f"The config file {file_path} is not valid TOML ({exc}).") from None
        except OSError as exc:
            raise ConfigFileError(f"The config file {file_path} is unreadable ({exc.strerror or exc}).") from None
        data.pop("config_file", None)  # where the file is cannot come from the file
        for key in PATH_FIELDS:
            if isinstance(data.get(key), str):
                value = Path(data[key]).expanduser()
                data[key] = str(value if value.is_absolute() else Path(file_path).parent / value)
        return data

    def unknown_keys(self) -> list[str]:
        return sorted(set(self.toml_data) - set(self.settings_cls.model_fields))


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

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Highest first: arguments, environment, `.env`, the config file (then the defaults)."""
        return (init_settings, env_settings, dotenv_settings, ConfigFileSource(settings_cls, config_file_path()),
                file_secret_settings)

    notes_dir: Path = Field(default_factory=bundled_notes_dir,
                            description="Folder of notes that `semsearch index` and `ask` read.")
    index_dir: Path = Field(default_factory=default_index_dir,
                            description="Where builds are written and published (by default in the per-user "
                            "data folder, so `ask` finds the same index from any directory).")
    config_file: Path = Field(default_factory=config_file_path,
                              description="The TOML config file (environment only; `semsearch config` shows it).")
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
    max_document_bytes: int = Field(DEFAULT_MAX_DOCUMENT_BYTES, ge=1, description="PDF, Word, notebook and "
                                    "HTML files larger than this are skipped (text notes: max_file_bytes).")
    max_pdf_pages: int = Field(DEFAULT_MAX_PAGES, ge=1, description="PDFs with more pages are skipped.")
    read_timeout_seconds: float = Field(DEFAULT_READ_SECONDS, gt=0, description="A PDF or Word file that takes "
                                        "longer to read is stopped and skipped (it is read in a worker process).")
    chunk_overlap_tokens: int = Field(32, ge=0, le=100,
                                      description="Tokens repeated between neighbouring chunks.")
    batch_size: int = Field(64, ge=1, description="Passages embedded per batch.")
    watch_debounce_ms: int = Field(500, ge=10, le=60_000, description="`semsearch index --watch` "
                                   "syncs once the notes folder has been quiet this long.")
    watch_compact_idle_ms: int = Field(30_000, ge=100, le=3_600_000, description="`semsearch index --watch` "
                                       "defers merging the index's segments to when the notes folder has "
                                       "been quiet this long after a sync.")
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
    lexical_trust: float = Field(0.2, ge=0, le=1, description="In `blend`: BM25's best score (over the "
                                 "query's score ceiling) under which a query keeps only that share of BM25's "
                                 "weight, unless it names something technical; 0: fixed weights.")
    fusion_pool: int = Field(100, ge=1, le=10000, description="Candidates taken from each retriever.")
    spell_out_acronyms: bool = Field(True, description="Embed an acronym the notes define with its "
                                     "definition: `VAE` as `VAE (variational autoencoder)`.")
    exact_boost: bool = Field(True, description="Rank passages holding a quoted phrase or an "
                              "identifier of the query (keras.layers.Dropout) first.")
    collapse: bool = Field(True, description="Show a passage held in several files once, "
                           "with the other places in `also_in`.")
    collapse_threshold: float = Field(0.6, gt=0, le=1, description="Shingle containment from "
                                      "which two chunks count as the same passage.")
    abstain_threshold: float = Field(0.25, ge=0, le=1, description="Calibrated score under which "
                                     "`ask` answers that nothing in the notes answers the question (0.25: "
                                     "at most 1 in 10 answerable dev queries refused, docs/quality.md).")
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
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Host names a keyless server answers to besides its bind address "
        "and localhost (e.g. a reverse proxy's name; JSON list); `*` allows any. Guards against DNS rebinding.")
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
    collections: dict[str, Path] = Field(
        default_factory=dict, description="Collections `semsearch index` syncs (name -> folder; a `[collections]` "
        "table in the config file), besides those recorded in the index directory.")
    slack_channel_collections: dict[str, list[str]] = Field(
        default_factory=dict, description="The collections each Slack channel id may search (`dm`: direct "
        "messages, `*`: every other channel); empty: every channel sees every collection.")

    @field_validator(*PATH_FIELDS, mode="after")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.chunk_weight + self.sentence_weight > 1:
            raise ValueError("SEMSEARCH_CHUNK_WEIGHT + SEMSEARCH_SENTENCE_WEIGHT must be at most 1")
        if self.top_k > self.max_top_k:
            raise ValueError(f"SEMSEARCH_TOP_K ({self.top_k}) must be at most SEMSEARCH_MAX_TOP_K ({self.max_top_k})")
        return self


class InvalidSettingsError(SemsearchError):
    """A setting in the environment, `.env` or the config file does not parse or is out of range."""


def load_settings() -> Settings:
    """`Settings()`, with a bad value as one sentence (InvalidSettingsError) instead of pydantic's report."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
                             for error in exc.errors())
        raise InvalidSettingsError(f"Invalid settings ({problems}). See `semsearch config` and the README's "
                                   "settings table.") from None
    except SettingsError as exc:  # a list or dict setting that is not JSON, e.g. SEMSEARCH_API_KEYS=key
        raise InvalidSettingsError(f"Invalid settings ({exc}); a list setting is a JSON list, e.g. "
                                   "SEMSEARCH_API_KEYS='[\"key\"]'.") from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()


def setting_origins() -> dict[str, str]:
    """Where each setting's value comes from now: "default", "config file", ".env" or "environment"
    (the last one that sets it wins, as in `Settings()`)."""
    origins = dict.fromkeys(Settings.model_fields, "default")
    sources: list[tuple[str, PydanticBaseSettingsSource]] = [
        ("config file", ConfigFileSource(Settings, config_file_path())),
        (".env", DotEnvSettingsSource(Settings)), ("environment", EnvSettingsSource(Settings))]
    for origin, source in sources:
        for name in source():
            if name in origins:
                origins[name] = origin
    return origins


def unknown_config_keys() -> list[str]:
    """Keys of the config file that name no setting (they are ignored)."""
    return ConfigFileSource(Settings, config_file_path()).unknown_keys()
