"""Every error has one shape: {"error": {"code", "message"}}, and never a trace or a server path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semsearch import IndexCorruptError, Searcher
from services.api.limits import BodySizeLimit

from .conftest import MakeClient, assert_error

BAD_BODIES: list[Any] = [
    {"query": ""},
    {"query": "   \n\t  "},
    {"query": "x" * 2001},
    {"query": "what is \x00 dropout"},
    {"query": 42},
    {"top_k": 3},
    {"query": "dropout", "top_k": 0},
    {"query": "dropout", "top_k": -1},
    {"query": "dropout", "top_k": 1.5},
    {"query": "dropout", "top_k": "10"},
    {"query": "dropout", "top_k": 10**9},
    {"query": "dropout", "top_k": True},
    {"query": "dropout", "filters": {"source": ""}},
    {"query": "dropout", "filters": {"path": "x"}},
    {"query": "dropout", "limit": 3},
    ["dropout"],
    "dropout",
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_invalid_input_is_422(client: TestClient, body: Any) -> None:
    assert_error(client.post("/query", json=body), 422, "invalid_request")


def test_a_long_query_is_measured_after_trimming(client: TestClient) -> None:
    assert client.post("/query", json={"query": " " * 500 + "x" * 2000 + " " * 500}).status_code == 200


def test_the_422_message_names_the_field(client: TestClient) -> None:
    message = assert_error(client.post("/query", json={"query": "x", "top_k": 0}), 422, "invalid_request")
    assert message.startswith("top_k:")


@pytest.mark.parametrize("raw", [b"{not json", b"", b"null"])
def test_malformed_json_is_422(client: TestClient, raw: bytes) -> None:
    response = client.post("/query", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 422, "invalid_request")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_not_sent_as_json_is_415(client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/query", content=b'{"query": "dropout"}', headers=headers)
    assert_error(response, 415, "unsupported_media_type")


def test_json_with_charset_is_accepted(client: TestClient) -> None:
    response = client.post("/query", content=b'{"query": "dropout"}',
                           headers={"content-type": "application/json; charset=utf-8"})
    assert response.status_code == 200


def test_a_large_body_with_content_length_is_413(build_a: str, make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=1024)
    body = b'{"query": "' + b"x" * 2000 + b'"}'
    response = client.post("/query", content=body, headers={"content-type": "application/json"})
    assert_error(response, 413, "payload_too_large")


def test_a_large_streamed_body_without_content_length_is_413(build_a: str, make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=1024)

    def chunks() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'"}'

    response = client.post("/query", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


def test_the_default_limit_is_64_kib(client: TestClient) -> None:
    body = b'{"query": "dropout", "pad": "' + b" " * 65536 + b'"}'
    response = client.post("/query", content=body, headers={"content-type": "application/json"})
    assert_error(response, 413, "payload_too_large")


def _run_limit(messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]],
               max_bytes: int) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Drive BodySizeLimit by hand: returns what it sent and the body the app received."""
    sent: list[dict[str, Any]] = []
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/query", "headers": headers}
    asyncio.run(BodySizeLimit(app, max_bytes)(scope, receive, send))
    return sent, seen


def test_the_limit_counts_streamed_bytes_and_never_calls_the_app() -> None:
    parts = [{"type": "http.request", "body": b"x" * 40, "more_body": True} for _ in range(3)]
    sent, seen = _run_limit(parts, [], max_bytes=100)
    assert sent[0]["status"] == 413 and seen == []


def test_a_body_under_the_limit_reaches_the_app_whole() -> None:
    parts = [{"type": "http.request", "body": b"x" * 40, "more_body": True},
             {"type": "http.request", "body": b"y" * 40, "more_body": False}]
    sent, seen = _run_limit(parts, [(b"content-length", b"80")], max_bytes=100)
    assert sent[0]["status"] == 200 and seen == [b"x" * 40 + b"y" * 40]


def test_a_false_content_length_is_400() -> None:
    sent, _ = _run_limit([], [(b"content-length", b"-5")], max_bytes=100)
    assert sent[0]["status"] == 400


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    assert_error(client.get("/nope"), 404, "not_found")
    response = client.get("/query")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_no_index_is_503_without_a_path(make_client: MakeClient, index_dir: Path) -> None:
    client = make_client()
    for response in (client.post("/query", json={"query": "dropout"}), client.get("/readyz")):
        message = assert_error(response, 503, "index_unavailable")
        assert message == "No index is loaded; run `semsearch index`."
        assert str(index_dir) not in response.text and "/tmp" not in response.text


def test_core_index_errors_are_503_without_a_path(client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    def corrupt(self: Searcher, query: str, *, top_k: int = 5, **filters: Any) -> Any:
        raise IndexCorruptError("The index file /srv/secret/index/vectors.faiss is corrupt.")

    monkeypatch.setattr(Searcher, "search", corrupt)
    response = client.post("/query", json={"query": "dropout"})
    assert_error(response, 503, "index_unavailable")
    assert "/srv/secret" not in response.text
    assert "/srv/secret/index/vectors.faiss" in caplog.text  # the detail goes to the log


def test_core_query_errors_are_422(build_a: str, make_client: MakeClient) -> None:
    client = make_client(max_top_k=3, top_k=3)  # the pydantic model has no maximum: the core enforces the server's
    message = assert_error(client.post("/query", json={"query": "x", "top_k": 10}), 422, "invalid_request")
    assert "top_k" in message and "3" in message


def test_unexpected_errors_are_500_without_a_trace(build_a: str, make_client: MakeClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: Searcher, query: str, *, top_k: int = 5, **filters: Any) -> Any:
        raise RuntimeError("exploded reading /srv/secret/file")

    monkeypatch.setattr(Searcher, "search", boom)
    client = make_client(raise_server_exceptions=False)
    response = client.post("/query", json={"query": "dropout"})
    assert_error(response, 500, "internal_error")
    assert "secret" not in response.text and "exploded" not in response.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(
    st.sampled_from(["query", "top_k", "filters", "extra"]),
    st.one_of(st.text(max_size=50), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
              st.none(), st.booleans(),
              st.dictionaries(st.sampled_from(["source"]), st.text(max_size=20), max_size=1)),
))
def test_any_json_object_gets_a_result_or_a_422(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/query", json=body)
    if response.status_code != 200:
        assert_error(response, 422, "invalid_request")
