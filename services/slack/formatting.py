"""Search hits -> Slack Block Kit blocks. Pure: no Slack client, no I/O.

Note text is untrusted mrkdwn. `&`, `<` and `>` are escaped as Slack asks, and the formatting
characters (`*`, `_`, `~`, backtick) are replaced by look-alike characters, because Slack has no
backslash escape: the only bold in a passage is the query words this module marks itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from semsearch.links import note_url
from semsearch.records import DEFAULT_COLLECTION, Hit

Block = dict[str, Any]

NOTHING_FOUND = "Nothing in your notes answers this."
USAGE = ("Ask me a question about your notes, e.g. `/ask what is inverted dropout` "
         "or `@semsearch how do I rotate API keys?`")
SECTION_LIMIT = 3000  # characters in a section's text object
PASSAGE_LIMIT = 2400  # of note text per passage, leaving room for markup
BUTTON_VALUE_LIMIT = 2000
MAX_HITS = 10  # keeps a message far below Slack's 50 blocks
ACTION_SHARE = "share_answer"
ACTION_VOTE_UP = "feedback_up"
ACTION_VOTE_DOWN = "feedback_down"

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                          "*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})
_WORD = re.compile(r"\w{3,}")


def escape(text: str) -> str:
    """`text` safe to embed in mrkdwn: no entity, link, mention or formatting can come from it."""
    return text.translate(_ESCAPES)


def query_terms(question: str) -> set[str]:
    """The lower-cased words of `question` worth highlighting (three letters or more)."""
    return {w.lower() for w in _WORD.findall(question)}


def highlight(text: str, terms: set[str]) -> str:
    """`text` escaped, with each whole word found in `terms` in bold."""
    out: list[str] = []
    last = 0
    for match in re.finditer(r"\w+", text):
        if match.group().lower() in terms:
            out.append(escape(text[last:match.start()]))
            out.append(f"*{escape(match.group())}*")
            last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def confident_hits(hits: Sequence[Hit]) -> list[Hit]:
    """The hits good enough to show: the confident ones, at most MAX_HITS."""
    return [h for h in hits if h.confident][:MAX_HITS]


def hit_blocks(hit: Hit, terms: set[str], *, base_url: str | None = None) -> list[Block]:
    chunk = hit.chunk
    url = note_url(base_url, hit)
    where = escape(chunk.source if chunk.collection == DEFAULT_COLLECTION else f"{chunk.collection}: {chunk.source}")
    file_part = f"<{url}|{where}>" if url else f"*{where}*"
    heading = f" › {escape(chunk.heading)}" if chunk.heading_path else ""
    lines = chunk.location.detail if chunk.location else f"lines {chunk.start_line}–{chunk.end_line}"
    title = f"*{hit.rank}.* {file_part}{heading}  ({lines})"
    passage = highlight(truncate(chunk.text.strip(), PASSAGE_LIMIT), terms)
    quoted = "\n".join(f">{line}" for line in passage.split("\n"))
    context = [f"score {hit.score:.2f}"]
    if hit.also_in:
        context.append("also in " + ", ".join(escape(s) for s in hit.also_in[:5]))
    body = truncate(f"{title}\n{quoted}", SECTION_LIMIT)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": body}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]},
    ]


def button_value(question: str, hits: Sequence[Hit]) -> str:
    """What a button carries back: the question and the chunk ids shown, under 2000 chars."""
    ids = [h.chunk.id for h in hits]
    value = json.dumps({"q": question, "ids": ids}, ensure_ascii=False)
    if len(value) > BUTTON_VALUE_LIMIT:
        spare = BUTTON_VALUE_LIMIT - len(json.dumps({"q": "", "ids": ids}, ensure_ascii=False)) - 10
        value = json.dumps({"q": question[: max(spare // 2, 0)], "ids": ids}, ensure_ascii=False)
    return value


def parse_button_value(value: str) -> tuple[str, list[str]]:
    """The question and chunk ids from `button_value`; empty ones when it is malformed."""
    try:
        data = json.loads(value)
        return str(data.get("q", "")), [str(i) for i in data.get("ids", [])]
    except (ValueError, AttributeError, TypeError):
        return "", []


def answer_blocks(question: str, hits: Sequence[Hit], *, abstained: bool, base_url: str | None = None,
                  shareable: bool = True, shared_by: str | None = None,
                  searched_as: str | None = None) -> list[Block]:
    """The Block Kit answer to `question`: the plain "nothing answers this" line when the search
    `abstained`, else the confident passages with 👍/👎 (and, for a private answer, Share in
    channel) buttons. `searched_as`: the query as embedded, shown when it differs (an acronym
    spelled out)."""
    shown = confident_hits(hits)
    if abstained or not shown:
        return text_blocks(NOTHING_FOUND)
    terms = query_terms(question)
    asker = f"<@{shared_by}> asked" if shared_by else "You asked"
    header = f"{asker}: _{escape(question)}_"
    if searched_as and searched_as != question.strip():
        header += f" (searched as _{escape(searched_as)}_)"
    blocks: list[Block] = [{"type": "section", "text": {
        "type": "mrkdwn", "text": truncate(header, SECTION_LIMIT)}}]
    for hit in shown:
        blocks.extend(hit_blocks(hit, terms, base_url=base_url))
    value = button_value(question, shown)
    buttons: list[Block] = [
        {"type": "button", "action_id": ACTION_VOTE_UP, "text": {"type": "plain_text", "text": "👍"},
         "value": value},
        {"type": "button", "action_id": ACTION_VOTE_DOWN, "text": {"type": "plain_text", "text": "👎"},
         "value": value},
    ]
    if shareable:
        buttons.append({"type": "button", "action_id": ACTION_SHARE, "style": "primary",
                        "text": {"type": "plain_text", "text": "Share in channel"}, "value": value})
    blocks.append({"type": "actions", "elements": buttons})
    return blocks


def answer_text(question: str, hits: Sequence[Hit], *, abstained: bool) -> str:
    """The notification fallback text for an answer (escaped like the blocks: a question holding
    `<!channel>` must not ping anyone)."""
    shown = confident_hits(hits)
    if abstained or not shown:
        return NOTHING_FOUND
    return f"{len(shown)} passage(s) for: {escape(truncate(question, 200))}"


def text_blocks(text: str) -> list[Block]:
    """A one-section message (usage hints, errors, "nothing answers this")."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
