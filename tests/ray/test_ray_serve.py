"""`semsearch serve --ray`: a Ray Serve deployment of 2 replicas of `create_server_app` (the app
`semsearch serve` runs) answers the same HTTP contract over a real socket on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index
from semsearch.settings import Settings
from services.server import create_server_app

from ..api.conftest import NOTES_A, assert_error, write_notes

pytestmark = [pytest.mark.timeout(300), pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")]
QUERY = {"query": "inverted dropout", "top_k": 3}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("serve")
    build_index(write_notes(root / "notes", NOTES_A), root / "index", HashingEmbedder())
    return Settings(index_dir=root / "index", model="hashing", host="127.0.0.1", port=free_port(),
                    ray_min_replicas=2, ray_max_replicas=2, api_keys=[], api_keys_file=None)


@pytest.fixture(scope="module")
def served(ray_local: Any, settings: Settings) -> Iterator[str]:
    from ray import serve

    from services.server.ray_serve import start

    start(settings)  # returns once both replicas are up
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        serve.shutdown()  # type: ignore[no-untyped-call]


def test_two_replicas_answer_post_query_like_the_local_app(served: str, settings: Settings) -> None:
    from ray import serve

    app = serve.status().applications["semsearch"]
    assert app.status == "RUNNING"
    assert app.deployments["semsearch"].replica_states == {"RUNNING": 2}
    with httpx.Client(base_url=served, timeout=30) as http:
        answers = [http.post("/query", json=QUERY) for _ in range(6)]
        ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    with TestClient(create_server_app(settings.model_copy(update={"port": 0})), base_url="http://127.0.0.1") as local:
        expected = local.post("/query", json=QUERY).json()
    for response in answers:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["results"] == expected["results"] and body["index"] == expected["index"]
    assert body["results"][0]["source"] == "alpha/dropout.md"


def test_errors_keep_the_one_error_shape(served: str) -> None:
    with httpx.Client(base_url=served, timeout=30) as http:
        assert_error(http.post("/query", json={"query": ""}), 422, "invalid_request")
        assert_error(http.get("/nope"), 404, "not_found")


def test_min_replicas_above_max_is_refused(settings: Settings) -> None:
    from services.server.ray_serve import build_app

    with pytest.raises(ValueError, match="SEMSEARCH_RAY_MIN_REPLICAS"):
        build_app(settings.model_copy(update={"ray_min_replicas": 3}))
