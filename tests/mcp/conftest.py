"""Fixtures for the MCP edge: the API tests' note folders and builds, and helpers for tool results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp.types import CallToolResult

from tests.api.conftest import (  # noqa: F401  (fixtures, registered by import)
    NOTES_A,
    NOTES_B,
    _hashing_model,
    build_a,
    notes_b,
    publish,
    write_notes,
)

__all__ = ["NOTES_A", "NOTES_B", "publish", "text_of", "tool_error", "write_notes"]


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def tool_error(result: CallToolResult) -> str:
    """The result is a tool error with one short message and no traceback; returns the message."""
    message = text_of(result)
    assert result.is_error, message
    assert message and "Traceback" not in message and "\n" not in message.strip()
    return message


def hits(result: CallToolResult) -> list[dict[str, Any]]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    found: list[dict[str, Any]] = result.structured_content["results"]
    return found


@pytest.fixture
def notes_a(tmp_path: Path) -> Path:
    """The API tests' folder A, with a link that leads outside it (`build_a` builds this one here)."""
    root = write_notes(tmp_path / "notes-a", NOTES_A)
    (tmp_path / "outside.md").write_text("# Outside\n\nNot a note of the folder.\n", encoding="utf-8")
    (root / "escape.md").symlink_to(tmp_path / "outside.md")
    return root
