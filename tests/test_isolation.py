"""A key scoped to one collection never sees another: thousands of random and adversarial queries
through the API, MCP over HTTP (the official SDK client) and Slack (Bolt), and every response is
checked for the other collection's text, file names, `also_in` entries, status rows and acronym
definitions (`searched_as` spells out only what the caller's collections define).

The two collections share a paragraph and file names on purpose (the same `keys.md` and
`ops/rotate.md` in both), so a leak through duplicate collapse (`also_in`) or a source-only key
would show.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr
from slack_sdk import WebClient

from semsearch import LiveIndex
from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index
from semsearch.ranking.fusion import RetrievalConfig
from semsearch.settings import Settings
from services.server import create_server_app
from services.slack import create_slack_app
from tests.conftest import write_notes
from tests.servers import serving
from tests.slack.conftest import FakeSlack, event_body, form, signed_request
from tests.slack.conftest import fake_slack as fake_slack  # noqa: F401  (the fixture, for the Slack test)

pytestmark = pytest.mark.timeout(120)

SHARED = "Rotate API keys every 90 days with the vault CLI and record the rotation in the ledger."
WORK = {
    "keys.md": f"---\ntags: [ops, security]\ndate: 2025-02-03\n---\n# Keys\n\n{SHARED}\n\n"
               "The work vault lives behind the bastion; ask the platform team for access.\n",
    "ops/rotate.md": f"# Rotation\n\n{SHARED}\n\nKubernetes secrets rotate with the operator. #kubernetes\n",
    "runbooks/deploy.md": "# Deploy\n\nDeploys run from the main branch after the canary is green. #ops\n",
}
# words only `home` holds (queries use them, to go looking for home), and a marker in every home
# passage that no query holds: a marker in a response is a leak of home's text
HOME_ONLY = ["marmalade", "grandmother", "allotment", "budgerigar", "quince"]
MARKER = "qxhomemarker"
HOME = {
    "keys.md": f"---\ntags: [family, security]\ndate: 2025-02-03\n---\n# Keys\n\n{SHARED}\n\n"
               f"The spare house key is under the marmalade jar at grandmother's ({MARKER}).\n",
    "ops/rotate.md": f"# Rotation\n\n{SHARED}\n\nRotate the allotment beds: quince after beans ({MARKER}). #garden\n",
    "diary-secret.md": f"# Diary\n\nThe budgerigar learned a new word today ({MARKER}). #family\n\n"
                       f"Grandmother makes the QHM ({MARKER} hidden mix) every spring.\n",  # only home defines QHM
    "family/recipes-private.md": f"# Recipes\n\nQuince marmalade: simmer for two hours ({MARKER}). #family #kitchen\n",
}
HOME_FILES = ["diary-secret.md", "family/recipes-private.md"]
WORDS = ("rotate keys vault kubernetes deploy canary ledger bastion secrets operator branch "
         "house key diary recipes beds family garden kitchen spare word QHM").split() + HOME_ONLY
FORM = "application/x-www-form-urlencoded"
SCOPED_KEY, FULL_KEY = "work-key-0123456789", "full-key-0123456789"
API_QUERIES, MCP_QUERIES, SLACK_QUERIES = 2500, 800, 300


@pytest.fixture
def index_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")
    index = tmp_path / "index"
    build_index(write_notes(tmp_path / "work", WORK), index, HashingEmbedder(), collection="work")
    build_index(write_notes(tmp_path / "home", HOME), index, HashingEmbedder(), collection="home")
    return index


def leaks(payload: object) -> list[str]:
    """What of `home` a response shows: its text, its own files, `also_in` or rows naming it."""
    text = json.dumps(payload, ensure_ascii=False).lower()
    found = [MARKER] * text.count(MARKER) + [f for f in HOME_FILES if f in text]
    found += ["home collection"] * (text.count('"home"') + text.count("home:") + text.count("~home"))
    return found


def adversarial(rng: random.Random) -> str:
    """A query with random words and random (often hostile) filter syntax."""
    words = rng.sample(WORDS, rng.randint(1, 4))
    extras = rng.sample([
        "in:home", "in:work", "in:work,home", "in:nope", "#family", "#kitchen", "#security", "tag:garden",
        "anytag:family,ops", "path:*", "path:diary*", "path:family/*", "path:keys.md", "path:ops/",
        "since:2025", "until:2025-02", "since:2025-13", "until:20x5", "since:2026 until:2025", "#123",
    ], rng.randint(0, 3))
    parts = words + extras
    rng.shuffle(parts)
    return " ".join(parts)


def api_body(rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {"query": adversarial(rng), "syntax": rng.random() < 0.7, "top_k": rng.randint(1, 10)}
    choice = rng.random()
    if choice < 0.15:
        body["collections"] = rng.choice([["home"], ["work", "home"], ["nope"], ["work"], []])
    elif choice < 0.3:
        body["path"] = rng.choice(["*", "diary*", "family/*", "keys.md", "*.md"])
    elif choice < 0.45:
        body["tags_any"] = rng.sample(["family", "kitchen", "security", "ops", "garden"], 2)
    elif choice < 0.55:
        body["since"] = rng.choice(["2025", "2025-02", "2024-12-31", "2025-02-30", "soon"])
    return body


@pytest.fixture
def server(index_dir: Path, tmp_path: Path) -> Iterator[str]:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{SCOPED_KEY} collections=work\n{FULL_KEY}\n", encoding="utf-8")
    settings = Settings(index_dir=index_dir, api_keys_file=keys, rate_limit=0, top_k=5)
    with serving(create_server_app(settings, reload_interval=0.0)) as base:
        yield base


def test_the_api_never_shows_a_scoped_key_another_collection(server: str) -> None:
    rng = random.Random(19)
    counted: dict[int, int] = {}
    found: list[str] = []
    with httpx.Client(base_url=server, headers={"X-API-Key": SCOPED_KEY}, timeout=30) as http:
        for _ in range(API_QUERIES):
            body = api_body(rng)
            response = http.post("/query", json=body)
            counted[response.status_code] = counted.get(response.status_code, 0) + 1
            assert response.status_code in (200, 403, 422), response.text  # never 404: no probing
            found += leaks(response.json())
            if response.status_code == 200:
                assert {r["collection"] for r in response.json()["results"]} <= {"work"}
        status = http.get("/status").json()
        found += leaks(status)
        assert {f["collection"] for f in status["files"]} == {"work"}
        assert [c["name"] for c in status["collections"]] == ["work"]
        forbidden = http.post("/query", json={"query": "keys", "collections": ["home"]})
        assert forbidden.status_code == 403 and "home" not in forbidden.text
    assert found == [], f"{len(found)} leaks"
    assert counted.get(200, 0) > API_QUERIES / 3 and counted.get(403, 0) > 10 and counted.get(422, 0) > 10
    with httpx.Client(base_url=server, headers={"X-API-Key": FULL_KEY}, timeout=30) as http:  # the test can fail
        everything = http.post("/query", json={"query": "marmalade quince", "collections": ["home"]}).json()
        assert leaks(everything), "an unscoped key sees home, so the leak check can see a leak"
        assert MARKER in http.post("/query", json={"query": "QHM"}).json()["searched_as"]


@asynccontextmanager
async def connect(base: str, key: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), read_timeout_seconds=30) as client:
            yield client


def test_mcp_over_http_never_shows_a_scoped_key_another_collection(server: str) -> None:
    rng = random.Random(20)

    async def run() -> list[str]:
        found: list[str] = []
        async with connect(server, SCOPED_KEY) as client:
            for _ in range(MCP_QUERIES):
                body = api_body(rng)
                arguments: dict[str, Any] = {"query": body["query"], "top_k": body["top_k"]}
                if "collections" in body:
                    arguments["collections"] = body["collections"]
                if "path" in body:
                    arguments["source"] = body["path"]
                for name in ("tags_any", "since"):
                    if name in body:
                        arguments[name] = body[name]
                result = await client.call_tool("search", arguments)
                found += leaks(result.structured_content) + leaks([getattr(c, "text", "") for c in result.content])
            async def refusal(source: str, collection: str | None) -> str:
                args: dict[str, Any] = {"source": source, "start_line": 1, "end_line": 5}
                got = await client.call_tool("get", {**args, **({"collection": collection} if collection else {})})
                assert got.is_error
                return "".join(getattr(c, "text", "") for c in got.content).replace(source, "S")

            # a note of home is refused exactly as a note that does not exist (no existence oracle)
            for source, collection in [("diary-secret.md", None), ("family/recipes-private.md", "work")]:
                assert await refusal(source, collection) == await refusal("no-such-note.md", collection)
            assert await refusal("keys.md", "home") == await refusal("keys.md", "no-such-collection")
            for source in ("keys.md", "ops/rotate.md"):  # in both: the caller gets work's
                got = await client.call_tool("get", {"source": source, "start_line": 1, "end_line": 5})
                assert not got.is_error and got.structured_content["collection"] == "work"
                found += leaks(got.structured_content)
            status = await client.call_tool("status", {})
            found += leaks(status.structured_content)
            listed = await client.list_resources()
            found += leaks([str(r.uri) for r in listed.resources])
            assert {str(r.uri) for r in listed.resources} == {f"note://~work/{name}" for name in WORK}
            refusals = set()
            for uri in ("note://~home/diary-secret.md", "note://~home/keys.md", "note://~nope/keys.md"):
                try:
                    read = await client.read_resource(uri)
                    found += leaks([getattr(c, "text", "") for c in read.contents])
                except Exception as exc:  # refused, and the same way for home as for a collection that is not there
                    refusals.add(str(exc).replace("diary-secret.md", "keys.md"))
            assert len(refusals) == 1, refusals
        async with connect(server, FULL_KEY) as client:  # the check can fail
            full = await client.call_tool("search", {"query": "marmalade quince", "collections": ["home"]})
            assert leaks(full.structured_content)
        return found

    found = anyio.run(run)
    assert found == [], f"{len(found)} leaks"


def test_slack_never_shows_a_mapped_channel_another_collection(index_dir: Path, fake_slack: FakeSlack,
                                                                tmp_path: Path) -> None:
    settings = Settings(slack_bot_token=SecretStr("xoxb-test"), slack_signing_secret=SecretStr("test-signing-secret"),
                        slack_feedback_path=tmp_path / "votes.jsonl", slack_events_path=tmp_path / "events.sqlite3",
                        top_k=5, slack_channel_collections={"C1": ["work"], "dm": ["work"], "*": []})
    live = LiveIndex(index_dir, HashingEmbedder(), retrieval=RetrievalConfig(abstain_threshold=0.0),
                     reload_interval=0.0)
    live.refresh(force=True)
    app = create_slack_app(live.searcher, settings, client=WebClient(token="xoxb-test",
                                                                     base_url=f"{fake_slack.url}/api/"))
    rng = random.Random(21)
    for n in range(SLACK_QUERIES):
        text = adversarial(rng)
        if n % 3:
            body = form({"command": "/ask", "text": text, "team_id": "T1", "user_id": "U1", "channel_id": "C1",
                         "response_url": f"{fake_slack.url}/respond/cmd", "trigger_id": "1.2.3"})
            assert app.dispatch(signed_request(body, FORM)).status == 200
        else:
            event = {"type": "message", "channel_type": "im", "user": "U1", "channel": "D1", "text": text,
                     "ts": f"1700000000.{n:06d}"}
            assert app.dispatch(signed_request(event_body(event, f"Ev{n}"), "application/json")).status == 200
    commands = sum(1 for n in range(SLACK_QUERIES) if n % 3)
    answers = fake_slack.wait_for("/respond/cmd", count=commands, timeout=30)
    answers += fake_slack.wait_for("/api/chat.postMessage", count=SLACK_QUERIES - commands, timeout=30)
    found = [leak for call in answers for leak in leaks(call.body)]
    assert found == [], f"{len(found)} leaks"
    shown = " ".join(json.dumps(call.body) for call in answers)
    assert "keys.md" in shown  # work's answers do come back
    unmapped = form({"command": "/ask", "text": "marmalade", "team_id": "T1", "user_id": "U1", "channel_id": "C9",
                     "response_url": f"{fake_slack.url}/respond/other", "trigger_id": "1.2.3"})
    app.dispatch(signed_request(unmapped, FORM))
    reply = fake_slack.wait_for("/respond/other")[0].body
    assert "may not search any collection" in json.dumps(reply) and not leaks(reply)
