"""API keys: header or bearer, constant-time check, never in the URL, never logged."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from semsearch.settings import Settings
from services.api import create_app
from services.api.auth import is_loopback
from services.api.errors import StartupError

from .conftest import MakeClient, assert_error

KEY = "k-3f9a1c7e5b"
QUERY = {"query": "dropout"}


@pytest.fixture
def keyed(build_a: str, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("SEMSEARCH_API_KEYS", f'["{KEY}", "second-key"]')
    return make_client()


def test_a_missing_key_is_401(keyed: TestClient) -> None:
    response = keyed.post("/query", json=QUERY)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer wrong"},
    {"X-API-Key": "wrong"},
    {"X-API-Key": KEY + "x"},
    {"Authorization": f"Basic {KEY}"},
    {"Authorization": KEY},
])
def test_a_wrong_key_is_401(keyed: TestClient, headers: dict[str, str]) -> None:
    assert_error(keyed.post("/query", json=QUERY, headers=headers), 401, "unauthorized")


@pytest.mark.parametrize("param", ["api_key", "key", "token", "apikey"])
def test_a_key_in_the_url_is_refused_even_a_good_one(keyed: TestClient, param: str) -> None:
    response = keyed.post(f"/query?{param}={KEY}", json=QUERY, headers={"X-API-Key": KEY})
    assert "in the URL" in assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("headers", [
    {"Authorization": f"Bearer {KEY}"},
    {"authorization": f"bearer {KEY}"},
    {"X-API-Key": KEY},
    {"X-API-Key": "second-key"},
])
def test_a_good_key_works(keyed: TestClient, headers: dict[str, str]) -> None:
    assert keyed.post("/query", json=QUERY, headers=headers).status_code == 200


def test_metrics_need_a_key_but_health_checks_do_not(keyed: TestClient) -> None:
    assert_error(keyed.get("/metrics"), 401, "unauthorized")
    assert keyed.get("/metrics", headers={"X-API-Key": KEY}).status_code == 200
    assert keyed.get("/healthz").status_code == 200
    assert keyed.get("/readyz").status_code == 200


def test_keys_are_never_logged_or_shown(keyed: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keyed.post("/query", json=QUERY, headers={"X-API-Key": KEY})
    keyed.post(f"/query?api_key={KEY}", json=QUERY)
    keyed.post("/query", json=QUERY, headers={"Authorization": f"Bearer {KEY}x"})
    server_log = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "POST /query 200" in server_log  # the access line is there, without the query string
    assert KEY not in server_log
    assert KEY not in repr(Settings())


def test_keys_file(build_a: str, make_client: MakeClient, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("# ops team\n\n  file-key-1  \nfile-key-2\n")
    client = make_client(api_keys_file=keys_file)
    assert client.post("/query", json=QUERY, headers={"X-API-Key": "file-key-1"}).status_code == 200
    assert client.post("/query", json=QUERY, headers={"X-API-Key": "file-key-2"}).status_code == 200
    assert_error(client.post("/query", json=QUERY, headers={"X-API-Key": "# ops team"}), 401,
                 "unauthorized")


@pytest.mark.parametrize("content", [None, "# only a comment\n\n"])
def test_a_missing_or_empty_keys_file_refuses_to_start(make_settings: Callable[..., Settings],
                                                        tmp_path: Path, content: str | None) -> None:
    keys_file = tmp_path / "keys"
    if content is not None:
        keys_file.write_text(content)
    with pytest.raises(StartupError, match="API keys file"):
        create_app(make_settings(api_keys_file=keys_file))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_an_open_api_on_a_reachable_address_refuses_to_start(
    make_settings: Callable[..., Settings], host: str
) -> None:
    with pytest.raises(StartupError) as caught:
        create_app(make_settings(host=host))  # never binds: create_app only builds the app
    assert str(caught.value).startswith(f"Refusing to serve on {host} without an API key")


def test_a_reachable_address_with_a_key_is_allowed(make_settings: Callable[..., Settings]) -> None:
    create_app(make_settings(host="0.0.0.0", api_keys=[KEY]))


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.1", False), ("myhost", False),
])
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
