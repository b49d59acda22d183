"""Plain data records passed between the stages: Note -> Chunk -> Hit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

NoteFormat = Literal["markdown", "text"]


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

    @property
    def heading(self) -> str:
        """The heading path as shown to users, e.g. `Deep Neural Nets › DROPOUT`."""
        return " › ".join(self.heading_path)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["heading_path"] = list(self.heading_path)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**{**data, "heading_path": tuple(data["heading_path"])})


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
            "heading_path": list(c.heading_path),
            "start_line": c.start_line,
            "end_line": c.end_line,
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
