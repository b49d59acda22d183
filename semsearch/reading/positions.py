"""Position maps -> citations: where a span of a derived note's lines is in the file (`locate`)."""

from __future__ import annotations

from ..records import Location, PositionMap


def locate(positions: PositionMap | None, start_line: int, end_line: int) -> Location | None:
    """The location of note lines `start_line..end_line` (1-based): first and last unit and the
    lines within them; None for a note without a position map or a span of separators only."""
    if positions is None:
        return None
    held = [i for i in range(start_line - 1, min(end_line, len(positions.units))) if positions.units[i]]
    if not held:
        return None
    first, last = held[0], held[-1]
    return Location(positions.unit, positions.units[first], positions.units[last],
                    positions.lines[first], positions.lines[last])
