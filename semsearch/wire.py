"""The JSON shape of an answer that the remote edges (the API's `POST /query`, MCP's `search`) share,
typed: each passage is `Hit.to_dict()` with the link to its lines. An edge subclasses these models
under its own names and docstrings (and words a field for its own clients where it must); the keys,
their order and their types are these."""

from __future__ import annotations

from typing import Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .links import note_url
from .records import Hit


class Passage(BaseModel):
    """One passage as shown: `Hit.to_dict()` and its `url`; keys the core adds later are passed through."""

    model_config = ConfigDict(extra="allow")

    rank: int = Field(description="1-based position after filtering.")
    score: float = Field(description="Higher is better.")
    text: str
    source: str = Field(description="The note's path relative to the notes folder.")
    heading_path: list[str]
    start_line: int = Field(description="First line of the passage in the note (1-based).")
    end_line: int = Field(description="Last line of the passage (inclusive).")
    location: str | None = Field(None, description="Where the passage is in a PDF, notebook or Word file, as a "
                                 "person counts: `p.3 lines 4-12`, `cell 7 lines 1-5`, `¶12`; null for text notes "
                                 "(then start_line-end_line are the file's lines).")
    chunk_id: str
    collection: str = Field("notes", description="The collection the note belongs to (`source` is relative "
                            "to its folder).")
    tags: list[str] = Field(default_factory=list, description="The note's tags, lowercase.")
    date: str | None = Field(None, description="The note's date (ISO), from its front matter or file time.")
    also_in: list[str] = Field(default_factory=list, description="Other notes with the same passage "
                               "(`collection:source:lines` outside the default collection).")
    url: str | None = Field(None, description="A link to the passage's lines in the notes when "
                            "`SEMSEARCH_NOTES_BASE_URL` is set, else null.")

    @classmethod
    def of(cls, hit: Hit, base_url: str | None) -> Self:
        """`hit` as shown, linked under `base_url` (`SEMSEARCH_NOTES_BASE_URL`; None: no link)."""
        return cls.model_validate({**hit.to_dict(), "url": note_url(base_url, hit)})


PassageT = TypeVar("PassageT", bound=Passage)


class Answer(BaseModel, Generic[PassageT]):
    """The answer's head and its passages; an edge adds the build that answered and the timings."""

    query: str = Field(description="The query as searched (trimmed).")
    searched_as: str = Field(description="What the query was embedded as: the query, with each acronym "
                             "the notes define spelled out (`VAE (variational autoencoder)`).")
    abstained: bool = Field(description="True when nothing in the notes answers the query confidently: "
                            "no results, or the best one's score is under the abstention threshold.")
    results: list[PassageT]
