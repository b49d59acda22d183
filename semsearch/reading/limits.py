"""What reading one PDF, Word file, notebook or HTML page may cost (`ReadLimits`), with its defaults.

Light on purpose: the settings import it, and nothing here loads a reader or its library."""

from __future__ import annotations

from dataclasses import dataclass

MB = 2**20
DEFAULT_MAX_DOCUMENT_BYTES = 50 * MB  # PDF, DOCX, notebooks, HTML (text notes: files.DEFAULT_MAX_FILE_BYTES)
DEFAULT_MAX_PAGES = 2000  # PDF pages per file
DEFAULT_MAX_TEXT_CHARS = 10_000_000  # extracted text per file (a 500-page paper has about 1.5 million)
DEFAULT_READ_SECONDS = 60.0  # per PDF or Word file, enforced in a worker process (`formats.isolation`)


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """What one derived file may cost: bytes on disk, PDF pages, extracted characters, seconds."""

    max_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    max_pages: int = DEFAULT_MAX_PAGES
    max_chars: int = DEFAULT_MAX_TEXT_CHARS
    seconds: float = DEFAULT_READ_SECONDS
