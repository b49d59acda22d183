"""Plain data records passed between the stages: Note -> Chunk -> Hit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

NoteFormat = Literal["markdown", "text"]
DEFAULT_COLLECTION = "notes"  # the collection of a notes folder indexed without a name (and of older builds)


LocationUnit = Literal["page", "cell", "paragraph"]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a passage of a PDF, notebook or Word file is, in the units a person counts (from 1):
    units `first`..`last`, from line `first_line` of unit `first` to line `last_line` of unit `last`."""

    unit: LocationUnit
    first: int
    last: int
    first_line: int
    last_line: int

    @property
    def label(self) -> str:
        """As shown to users: `p.3`, `pp.3-4`, `cell 7`, `cells 7-8`, `¶12`, `¶12-14`."""
        span = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        if self.unit == "page":
            return f"p.{span}" if self.first == self.last else f"pp.{span}"
        if self.unit == "cell":
            return f"cell {span}" if self.first == self.last else f"cells {span}"
        return f"¶{span}"

    @property
    def detail(self) -> str:
        """The label with lines within the unit: `p.3 lines 4-12`, `p.3 line 40 to p.4 line 2`."""
        if self.unit == "paragraph":
            return self.label
        if self.first == self.last:
            lines = (f"line {self.first_line}" if self.first_line == self.last_line
                     else f"lines {self.first_line}-{self.last_line}")
            return f"{self.label} {lines}"
        name = "p." if self.unit == "page" else "cell "
        return f"{name}{self.first} line {self.first_line} to {name}{self.last} line {self.last_line}"


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading a reader found: on note lines `line`..`last_line` (an underline included), at `level`."""

    line: int
    level: int
    text: str
    last_line: int


@dataclass(frozen=True, slots=True)
class PositionMap:
    """For each line of a derived note's text (index = line - 1): the unit that holds it (0 for a
    separator line of the reader's own) and the line's number within that unit."""

    unit: LocationUnit
    units: tuple[int, ...]
    lines: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Note:
    """One notes file, decoded and repaired. `lines` are the file's lines, 1-based by index + 1."""

    source: str  # path relative to the notes root, with forward slashes
    text: str  # the whole decoded text (front matter included, so line numbers match the file)
    format: NoteFormat
    body_start_line: int  # first line after any front matter (1-based)
    title: str | None = None
    tags: tuple[str, ...] = ()
    encoding: str = "utf-8"
    repaired: bool = False  # mojibake was repaired
    reader: str = ""  # the reader that made it (`pdf`, `org`, ...); "" for markdown and text
    headings: tuple[Heading, ...] | None = None  # the reader's headings; None: the chunker finds them
    positions: PositionMap | None = None  # derived formats: where each line of `text` is in the file
    date: str | None = None  # ISO date from the front matter (`date`, `created` or `updated`)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of a note: what is shown (`text`) and what is embedded (`embed_text`)."""

    id: str
    source: str
    heading_path: tuple[str, ...]
    start_line: int  # 1-based, inclusive, in the original file
    end_line: int  # 1-based, inclusive
    text: str
    embed_text: str
    title: str | None = None
    location: Location | None = None  # page/cell/paragraph of a derived format's passage; None: lines
    collection: str = DEFAULT_COLLECTION  # `source` is relative to this collection's folder
    tags: tuple[str, ...] = ()  # lowercase: front matter `tags`/`keywords` and inline `#tags`
    date: str | None = None  # ISO date: front matter `date`/`created`/`updated`, else the file's mtime

    @property
    def heading(self) -> str:
        """The heading path as shown to users, e.g. `Deep Neural Nets › DROPOUT`."""
        return " › ".join(self.heading_path)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["heading_path"] = list(self.heading_path)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**{**data, "heading_path": tuple(data["heading_path"]), "tags": tuple(data.get("tags", ())),
                      "location": Location(**data["location"]) if data.get("location") else None})


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result, best first (`rank` is 1-based). `score` is calibrated: the estimated
    probability in [0, 1] that the passage answers the query, comparable across queries;
    `raw_score` is the ranking score it came from (fused rank score, or cosine when dense-only);
    `confident` is False when `score` is under the abstention threshold."""

    chunk: Chunk
    score: float
    rank: int
    also_in: tuple[str, ...] = field(default=())  # other places with the same passage
    raw_score: float | None = None
    confident: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape shared by `ask --json`, the API and eval runs."""
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "text": c.text,
            "source": c.source,
            "collection": c.collection,
            "tags": list(c.tags),
            "date": c.date,
            "heading_path": list(c.heading_path),
            "start_line": c.start_line,
            "end_line": c.end_line,
            "location": c.location.detail if c.location else None,
            "chunk_id": c.id,
            "also_in": list(self.also_in),
            "raw_score": None if self.raw_score is None else round(self.raw_score, 6),
            "confident": self.confident,
        }


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file the reader refused, with the reason shown to the user."""

    source: str
    reason: str
