"""Wire models: what `POST /query` accepts and what every route returns."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, WithJsonSchema, field_validator

from semsearch.search import QueryLimits
from semsearch.wire import Answer, Passage


class QueryFilters(BaseModel):
    """Restrict results to some notes."""

    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        None,
        description="A glob (`*.md`, `ml/*`; `*` also crosses `/`) or a path prefix (`deep-neural`) "
        "matched against each passage's source path, relative to the notes folder.",
        examples=["*.md"],
    )


# What the core accepts, said in the schema (for clients and schema-driven fuzzing); the core checks it.
CollectionName = Annotated[str, WithJsonSchema({"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"})]
TagName = Annotated[str, WithJsonSchema({"type": "string", "maxLength": 100,
                                         "pattern": "^#*[A-Za-z][A-Za-z0-9_/.-]*$"})]
Period = Annotated[str, WithJsonSchema({"anyOf": [
    {"type": "string", "format": "date"},  # YYYY-MM-DD, a real day
    {"type": "string", "pattern": "^(?!0000)[0-9]{4}(-(0[1-9]|1[0-2]))?$"},  # YYYY or YYYY-MM
]})]


def _whole(value: object) -> object:
    """JSON Schema counts 12.0 as an integer, so it is 12 here too (1.5, "10" and true stay refused)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class QueryRequest(BaseModel):
    """A question and how many passages to return."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"query": "what is inverted dropout", "top_k": 3}]},
    )

    query: StrictStr = Field(
        description="The question: 1 to `SEMSEARCH_MAX_QUERY_CHARS` characters once surrounding "
        "whitespace is trimmed; no NUL characters.",
        # what the validator below enforces, said in the schema (for clients and schema-driven fuzzing):
        # some character that is not whitespace (JSON Schema's or Python's), and no NUL anywhere. The
        # server's length limit is added to the schema by `limit_schema`.
        json_schema_extra={"minLength": 1,
                           "pattern": "^[^\\u0000]*[^\\s\\u0000\\u001c-\\u001f\\u0085][^\\u0000]*$"},
    )
    top_k: Annotated[int, Field(strict=True, ge=1), BeforeValidator(_whole)] | None = Field(
        None, description="Passages to return, at most `SEMSEARCH_MAX_TOP_K` (default: the server's "
        "`SEMSEARCH_TOP_K`, 5)."
    )
    filters: QueryFilters | None = None
    collections: list[CollectionName] | None = Field(
        None, min_length=1, max_length=50, description="Only these collections (any of them). Default: every "
        "collection the API key may see; naming one the key may not see is a 403, one the index does not "
        "hold a 404.", examples=[["work"]])
    tags_all: list[TagName] = Field(
        default_factory=list, max_length=50, description="Only passages carrying every one of these tags "
        "(front matter `tags`/`keywords` or inline `#tags`; compared lowercase, a leading `#` ignored).")
    tags_any: list[TagName] = Field(
        default_factory=list, max_length=50, description="Only passages carrying at least one of these tags.")
    path: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        None, description="A glob or path prefix of the note's path within its collection (the same as "
        "`filters.source`).", examples=["ops/*"])
    since: Period | None = Field(
        None, description="Only passages dated on or after the start of this `YYYY`, `YYYY-MM` or "
        "`YYYY-MM-DD` (a note's date: front matter `date`/`created`/`updated`, else its file's time).",
        examples=["2025-01"])
    until: Period | None = Field(
        None, description="Only passages dated on or before the end of this `YYYY`, `YYYY-MM` or `YYYY-MM-DD` "
        "(after `since`: nothing matches).", examples=["2025-06"])
    syntax: bool = Field(False, description="Read filters typed into `query` (`in:work #k8s path:ops/* "
                         "since:2025-01 ...`) as the search page and Slack do; they add to the fields above.")

    @field_validator("query")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        value = value.strip()
        if not value:
            raise ValueError("must not be empty or only whitespace")
        return value


def limit_schema(openapi: dict[str, Any], limits: QueryLimits) -> dict[str, Any]:
    """The OpenAPI document with the server's query limits (`Settings`) on `QueryRequest`, which the
    core enforces (a QueryError, answered 422)."""
    properties = openapi.get("components", {}).get("schemas", {}).get("QueryRequest", {}).get("properties", {})
    if "query" in properties:
        properties["query"]["maxLength"] = limits.max_query_chars
    for option in properties.get("top_k", {}).get("anyOf", []):
        if option.get("type") == "integer":
            option["maximum"] = limits.max_top_k
    return openapi


class ResultItem(Passage):
    """One passage (`semsearch.Hit.to_dict()`); keys the core adds later are passed through."""


class IndexInfo(BaseModel):
    """The build that answered: every response names exactly one."""

    build_id: str
    built_at: str = Field(description="When the build was made (ISO 8601, UTC).")
    model: str = Field(description="The embedding model the build was made with.")


class Timings(BaseModel):
    """Milliseconds spent on each stage of the search, and in the whole request handler."""

    embed: float = Field(description="Embedding the query.")
    dense: float = Field(description="Searching the vector store.")
    lexical: float = Field(description="Scoring BM25.")
    rank: float = Field(description="Fusing, collapsing duplicates and calibrating.")
    search: float = Field(description="The four stages together.")
    total: float = Field(description="The whole request handler.")


class QueryResponse(Answer[ResultItem]):
    index: IndexInfo
    timings_ms: Timings


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_request"])
    message: str = Field(examples=["query: must not be empty or only whitespace."])


class ErrorResponse(BaseModel):
    """The shape of every error response."""

    error: ErrorDetail


class HealthResponse(BaseModel):
    status: str = Field(examples=["ok"])


class ReadyResponse(BaseModel):
    status: str = Field(examples=["ready"])
    index: IndexInfo
    chunks: int


class FileStatusItem(BaseModel):
    """One notes file in the served build."""

    source: str = Field(description="The note's path relative to the notes folder.")
    status: Literal["indexed", "unchanged", "skipped", "failed"] = Field(
        description="indexed (new or changed), unchanged (same text as the build before), skipped "
        "(with `reason`) or failed (with `error`).")
    chunks: int = Field(0, description="Passages of this file in the build.")
    embedded: int = Field(0, description="Of which embedded by this build (the rest were reused).")
    reason: str | None = Field(None, description="Why the file was skipped.")
    error: str | None = Field(None, description="Why the file failed.")
    renamed_from: str | None = Field(None, description="The file's name in the build before.")
    collection: str = Field("notes", description="The collection the file belongs to.")
    reader: str | None = Field(None, description="The reader of its format: markdown, text, pdf, docx, notebook, "
                               "html, org or rst (null in builds made before readers were recorded).")


class CollectionItem(BaseModel):
    """One collection of the served build (only those the API key may see)."""

    name: str
    file_count: int
    chunk_count: int


class StatusResponse(BaseModel):
    """The served build: what it is, and what became of each notes file."""

    index: IndexInfo
    as_of: str = Field(description="`index as of <built_at>`, for showing beside answers.")
    file_count: int = Field(description="Files indexed (skipped and failed ones not counted).")
    chunk_count: int
    embedded: int = Field(description="Passages embedded by this build.")
    reused: int = Field(description="Passages whose vectors came from the build before.")
    files: list[FileStatusItem]
    removed: list[str] = Field(description="Files of the build before that are gone.")
    collections: list[CollectionItem] = Field(default_factory=list, description="The collections the API "
                                              "key may see, with their counts.")
