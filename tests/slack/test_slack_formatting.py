"""Pure parts: mrkdwn escaping, highlighting, limits, button values, event dedup, settings."""

from __future__ import annotations

import json

import pytest

from semsearch.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError, ModelLoadError, SemsearchError
from semsearch.records import Chunk, Hit
from semsearch.settings import Settings
from services.slack.bot import UNAVAILABLE, SlackConfigError, check_settings, strip_mentions, unavailable_message
from services.slack.dedup import SeenEvents
from services.slack.formatting import (
    BUTTON_VALUE_LIMIT,
    NOTHING_FOUND,
    SECTION_LIMIT,
    answer_blocks,
    answer_text,
    button_value,
    escape,
    highlight,
    parse_button_value,
)


def make_hit(text: str, *, rank: int = 1, confident: bool = True) -> Hit:
    chunk = Chunk(id=f"c{rank}", source="a/b c.md", heading_path=("Top", "Sub"), start_line=3,
                  end_line=9, text=text, embed_text=text)
    return Hit(chunk, 0.9, rank, confident=confident)


def test_escape_neutralises_entities_links_and_formatting() -> None:
    assert escape("a & <b> <@U1> *x* _y_ ~z~ `c`") == (
        "a &amp; &lt;b&gt; &lt;@U1&gt; \u2217x\u2217 \u02cdy\u02cd \u223cz\u223c \u02cbc\u02cb")


def test_highlight_bolds_whole_query_words_only() -> None:
    assert highlight("Dropout drops; dropouts & amp", {"dropout", "amp"}) == (
        "*Dropout* drops; dropouts &amp; *amp*")


def test_long_passages_fit_slack_limits() -> None:
    blocks = answer_blocks("word", [make_hit("word " * 2000)], abstained=False)
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")


def test_unconfident_hits_are_not_shown() -> None:
    blocks = answer_blocks("q", [make_hit("weak", confident=False)], abstained=False)
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": NOTHING_FOUND}}]
    assert answer_text("q", [make_hit("weak", confident=False)], abstained=False) == NOTHING_FOUND


def test_the_core_abstention_is_shown_as_it_is() -> None:
    """The search core decides abstention (SearchResult.abstained); the bot never decides it again."""
    hits = [make_hit("a confident passage")]
    assert answer_blocks("q", hits, abstained=True) == [
        {"type": "section", "text": {"type": "mrkdwn", "text": NOTHING_FOUND}}]
    assert answer_text("q", hits, abstained=True) == NOTHING_FOUND
    shown = answer_blocks("q", hits, abstained=False)
    assert len(shown) == 4 and shown[-1]["type"] == "actions"  # header, passage, its context, buttons
    assert answer_text("q", hits, abstained=False) == "1 passage(s) for: q"


def test_link_quotes_the_path_and_cites_lines() -> None:
    text = json.dumps(answer_blocks("q", [make_hit("x")], abstained=False, base_url="https://h/notes"))
    assert "https://h/notes/a/b%20c.md#L3-L9|a/b c.md" in text


def test_button_value_stays_under_the_limit() -> None:
    hits = [make_hit("x", rank=r) for r in range(1, 6)]
    value = button_value("why " * 1000, hits)
    assert len(value) <= BUTTON_VALUE_LIMIT
    question, ids = parse_button_value(value)
    assert question.startswith("why") and ids == ["c1", "c2", "c3", "c4", "c5"]
    assert parse_button_value("not json") == ("", [])


def test_strip_mentions() -> None:
    assert strip_mentions("<@UBOT>  what is <@U2|ann> dropout ") == "what is dropout"


def test_seen_events_is_bounded_and_expires() -> None:
    now = [0.0]
    seen = SeenEvents(ttl_s=10, max_size=2, clock=lambda: now[0])
    assert seen.add("a") and not seen.add("a")
    assert seen.add("b") and seen.add("c") and len(seen) == 2
    now[0] = 11
    assert seen.add("b")  # expired, so new again


def test_missing_tokens_are_named() -> None:
    with pytest.raises(SlackConfigError, match="SEMSEARCH_SLACK_SIGNING_SECRET"):
        check_settings(Settings(slack_bot_token="xoxb-1"))
    with pytest.raises(SlackConfigError, match="SEMSEARCH_SLACK_APP_TOKEN"):
        check_settings(Settings(slack_bot_token="xoxb-1", slack_mode="socket"))


def test_the_answer_says_how_an_acronym_was_searched() -> None:
    header = answer_blocks("VAE", [make_hit("x")], abstained=False,
                           searched_as="VAE (variational autoencoder)")[0]["text"]["text"]
    assert header == "You asked: _VAE_ (searched as _VAE (variational autoencoder)_)"
    plain = answer_blocks("dropout", [make_hit("x")], abstained=False, searched_as="dropout")[0]["text"]["text"]
    assert plain == "You asked: _dropout_"


@pytest.mark.parametrize("error", [IndexNotFoundError, IndexCorruptError, IndexMismatchError, ModelLoadError])
def test_an_unavailable_search_is_one_line_that_names_no_server_path(error: type[SemsearchError]) -> None:
    message = unavailable_message(error("The index file /srv/secret/index/builds/x/chunks.jsonl is corrupt."))
    assert message.startswith(UNAVAILABLE) and "/srv" not in message and "\n" not in message
