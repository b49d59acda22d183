"""The terminal edge: `semsearch index|status|ask|eval` and `ask "QUESTION"` (click)."""

from __future__ import annotations

from .commands import answer, ask, command_group, main, run_build

__all__ = ["answer", "ask", "command_group", "main", "run_build"]
