"""Position maps: for any rendered document, every chunk is a span of the reader's text and its
location names the first and last unit (and the lines within them) that its lines come from."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from semsearch.reading.chunking import chunk_note
from semsearch.reading.formats.base import NoteText

WORDS = st.lists(st.sampled_from("axolotl limb page cell river bridge tomato the of a".split()), min_size=1,
                 max_size=12).map(" ".join)
UNITS = st.lists(st.lists(WORDS, min_size=0, max_size=6), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(units=UNITS, unit=st.sampled_from(["page", "cell", "paragraph"]), headings=st.booleans())
def test_chunks_are_spans_and_locations_match_the_map(units: list[list[str]], unit: str, headings: bool) -> None:
    out = NoteText(unit, 10**6)  # type: ignore[arg-type]
    for number, lines in enumerate(units, 1):
        if not lines:
            continue  # a page without text: no line of it
        out.separate()
        for index, line in enumerate(lines):
            out.add(line, number, heading_level=1 if headings and index == 0 else 0)
    if not any(any(lines) for lines in units):
        return
    note = out.note("doc", reader="test")
    assert note.positions is not None
    text_lines = note.text.split("\n")
    for chunk in chunk_note(note, max_tokens=24, overlap_tokens=4):
        assert chunk.text == "\n".join(text_lines[chunk.start_line - 1 : chunk.end_line]) or (
            chunk.start_line == chunk.end_line and chunk.text in text_lines[chunk.start_line - 1])
        held = [i for i in range(chunk.start_line - 1, chunk.end_line) if note.positions.units[i]]
        location = chunk.location
        assert location is not None and location.unit == unit
        first, last = held[0], held[-1]
        assert (location.first, location.last) == (note.positions.units[first], note.positions.units[last])
        # the line within the unit is the line's place among that unit's lines, from 1
        assert text_lines[first] == units[location.first - 1][location.first_line - 1]
        assert text_lines[last] == units[location.last - 1][location.last_line - 1]
