"""What the MCP tools return: their structured outputs (whose JSON schemas the SDK lists as the
tools' output schemas) and the compact text form of a search."""

from __future__ import annotations

from pydantic import BaseModel, Field

from semsearch import wire


class Passage(wire.Passage):
    """One passage, as `POST /query` returns it (keys the core adds later are passed through)."""

    # the same keys as the API's, worded for an MCP client
    rank: int = Field(description="1-based position.")
    location: str | None = Field(None, description="Page, cell or paragraph of a PDF, notebook or Word file "
                                 "(`p.3 lines 4-12`, `cell 7`); null for text notes.")
    collection: str = Field("notes", description="The collection of the note (pass it to `get`).")
    date: str | None = Field(None, description="The note's date (ISO).")
    also_in: list[str] = Field(default_factory=list, description="Other notes with the same passage.")
    url: str | None = Field(None, description="A link to the lines when SEMSEARCH_NOTES_BASE_URL is set.")


class BuildInfo(BaseModel):
    build_id: str
    built_at: str = Field(description="When the build was made (ISO 8601, UTC).")
    model: str = Field(description="The embedding model of the build.")


class SearchOutput(wire.Answer[Passage]):
    searched_as: str = Field(description="What the query was embedded as (acronyms the notes define spelled out).")
    abstained: bool = Field(description="True when nothing in the notes answers the query confidently.")
    index: BuildInfo
    timings_ms: dict[str, float]


class GetOutput(BaseModel):
    collection: str = "notes"
    source: str
    start_line: int
    end_line: int
    text: str = Field(description="The lines, joined with newlines.")
    line_count: int = Field(description="Lines in the whole note.")
    changed_since_build: bool = Field(description="The note was edited after the build: lines may not match "
                                      "the passages' citations any more.")
    build_id: str


class FileProblem(BaseModel):
    source: str
    status: str = Field(description="`skipped` or `failed`.")
    reason: str


class StatusOutput(BaseModel):
    index: BuildInfo
    age_seconds: float = Field(description="Seconds since the build was made.")
    file_count: int
    chunk_count: int
    embedded: int = Field(description="Chunks embedded by this build.")
    reused: int = Field(description="Chunks whose vectors came from the previous build.")
    not_indexed: list[FileProblem] = Field(description="Files skipped or failed, with the reason.")
    removed: list[str] = Field(description="Files of the previous build that are gone.")


def render_search(out: SearchOutput) -> str:
    """The compact text form: one block per passage, cited as `source:start-end`."""
    head = f"build {out.index.build_id}; searched as: {out.searched_as}"
    if out.abstained:
        head += "\n(abstained: nothing in the notes answers this confidently)"
    blocks = [head]
    for p in out.results:
        heading = " › ".join(p.heading_path)
        place = f"{p.source} {p.location}" if p.location else f"{p.source}:{p.start_line}-{p.end_line}"
        place = place if p.collection == "notes" else f"{p.collection}:{place}"
        title = f"[{p.rank}] {place}" + (f" ({heading})" if heading else "")
        title += f" score {p.score:.3f}" + (f"; also in {', '.join(p.also_in)}" if p.also_in else "")
        blocks.append(f"{title}\n{p.text}")
    if not out.results:
        blocks.append("No passages.")
    return "\n\n".join(blocks)
