"""Fixtures for the HTTP service: two small note folders, their builds, and TestClients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from semsearch.embedders.hashing import HashingEmbedder
from semsearch.indexing.build import build_index
from semsearch.settings import Settings
from services.api import create_app
from tests.conftest import write_notes

NOTES_A = {
    "alpha/dropout.md": "# Dropout\n\nInverted dropout scales activations during training.\n",
    "alpha/keys.md": "# Operations\n\n## Keys\n\nRotate API keys every 90 days with the vault.\n",
    "guides/garden.md": "# Garden\n\nWater tomatoes early in the morning, before the heat.\n",
    "guides/keras.txt": "Keras layers\n\nThe Keras dropout layer takes a rate between 0 and 1.\n",
}
NOTES_B = {
    "beta/dropout.md": "# Regularization\n\nDropout zeroes random units; inverted dropout rescales.\n",
    "beta/batchnorm.md": "# Batch norm\n\nBatch normalization standardizes layer inputs per batch.\n",
}
MakeClient = Callable[..., TestClient]
LOCAL = "http://127.0.0.1:8000"  # a keyless server answers only to its own names (services/api/origin.py)


def publish(notes: Path, index_dir: Path) -> str:
    """Build and publish an index of `notes`; returns its build id."""
    return build_index(notes, index_dir, HashingEmbedder()).manifest.build_id


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    """The response is the one error shape with this status and code; returns its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    assert message and "Traceback" not in response.text
    return message


@pytest.fixture(autouse=True)
def _hashing_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMSEARCH_MODEL", "hashing")


@pytest.fixture
def notes_a(tmp_path: Path) -> Path:
    return write_notes(tmp_path / "notes-a", NOTES_A)


@pytest.fixture
def notes_b(tmp_path: Path) -> Path:
    return write_notes(tmp_path / "notes-b", NOTES_B)


@pytest.fixture
def build_a(notes_a: Path, index_dir: Path) -> str:
    return publish(notes_a, index_dir)


@pytest.fixture
def make_settings(index_dir: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return Settings(**{"index_dir": index_dir, **overrides})

    return make


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[MakeClient]:
    """TestClients with the lifespan run; keyword arguments become settings."""
    with ExitStack() as stack:

        def make(*, reload_interval: float = 0.0, raise_server_exceptions: bool = True,
                 **overrides: Any) -> TestClient:
            app = create_app(make_settings(**overrides), reload_interval=reload_interval)
            client = TestClient(app, raise_server_exceptions=raise_server_exceptions, base_url=LOCAL)
            return stack.enter_context(client)

        yield make


@pytest.fixture
def client(build_a: str, make_client: MakeClient) -> TestClient:
    """A client of an app serving build A, with no API keys."""
    return make_client()
