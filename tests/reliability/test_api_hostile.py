"""Round two against the HTTP API (issue 24): failed authentication is throttled per address, keys
are read and compared strictly, credentials in the URL are refused by any usual name, and text that
is not text is a 422, never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient, assert_error

GOOD, ADMIN = "good-key-123", "admin-key-456"


def test_wrong_keys_in_a_burst_are_throttled(build_a: str, make_client: MakeClient) -> None:
    client = make_client(api_keys=[GOOD])
    statuses = [client.post("/query", json={"query": "dropout"}, headers={"X-API-Key": f"wrong-{i}"}).status_code
                for i in range(60)]
    assert statuses[0] == 401 and 429 in statuses
    assert statuses.count(401) <= 25
    throttled = client.post("/query", json={"query": "dropout"}, headers={"X-API-Key": "wrong"})
    assert_error(throttled, 429, "rate_limited")
    assert int(throttled.headers["Retry-After"]) >= 1
    # a good key still gets in: only failures are counted
    assert client.post("/query", json={"query": "dropout"}, headers={"X-API-Key": GOOD}).status_code == 200


def test_no_throttle_when_rate_limits_are_off(build_a: str, make_client: MakeClient) -> None:
    client = make_client(api_keys=[GOOD], rate_limit=0)
    assert {client.post("/query", json={"query": "x"}, headers={"X-API-Key": "bad"}).status_code
            for _ in range(40)} == {401}


def test_a_keys_file_with_a_byte_order_mark(build_a: str, make_client: MakeClient, tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_bytes(f"\ufeff{GOOD}\n{ADMIN} admin\n".encode())
    client = make_client(api_keys_file=keys)
    assert client.post("/query", json={"query": "dropout"}, headers={"X-API-Key": GOOD}).status_code == 200
    assert client.post("/admin/reload", headers={"X-API-Key": ADMIN}).status_code == 200


@pytest.mark.parametrize("pair", [(GOOD, "wrong"), ("wrong", GOOD), (GOOD, GOOD), (ADMIN, GOOD)])
def test_two_key_headers_are_refused(build_a: str, make_client: MakeClient, pair: tuple[str, str]) -> None:
    client = make_client(api_keys=[GOOD], admin_api_keys=[ADMIN])
    headers = [("x-api-key", pair[0]), ("x-api-key", pair[1])]
    response = client.post("/admin/reload", headers=headers)
    assert_error(response, 401, "unauthorized")
    two_bearers = [("authorization", f"Bearer {pair[0]}"), ("authorization", f"Bearer {pair[1]}")]
    assert_error(client.post("/query", json={"query": "x"}, headers=two_bearers), 401, "unauthorized")


@pytest.mark.parametrize("name", ["access_token", "auth", "password", "Password", "secret", "api-key", "jwt",
                                  "session", "client_secret", "refresh_token"])
def test_credential_looking_query_parameters_are_refused(build_a: str, make_client: MakeClient, name: str) -> None:
    client = make_client(api_keys=[GOOD])
    response = client.post(f"/query?{name}={GOOD}", json={"query": "x"}, headers={"X-API-Key": GOOD})
    assert "in the URL" in assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("raw", [b'{"query": "drop\\ud800out"}', b'{"query": "\\udfff"}',
                                 b'{"query": "a\\udbff\\udbffb"}'])
def test_lone_surrogates_are_a_422_not_a_500(client: TestClient, raw: bytes) -> None:
    response = client.post("/query", content=raw, headers={"content-type": "application/json"})
    assert "not valid text" in assert_error(response, 422, "invalid_request")


@pytest.mark.parametrize("host", ["evil.example", "rebound.attacker.test:8000", "192.168.1.7"])
def test_a_keyless_server_answers_only_to_its_own_names(build_a: str, make_client: MakeClient, host: str) -> None:
    client = make_client()
    response = client.post("/query", json={"query": "dropout"}, headers={"host": host})
    assert "host name" in assert_error(response, 421, "misdirected_request")
    for own in ("127.0.0.1:8000", "localhost", "[::1]:8000"):
        assert client.post("/query", json={"query": "dropout"}, headers={"host": own}).status_code == 200


def test_allowed_hosts_admit_a_proxy_name(build_a: str, make_client: MakeClient) -> None:
    client = make_client(allowed_hosts=["notes.internal"])
    assert client.post("/query", json={"query": "x"}, headers={"host": "notes.internal"}).status_code == 200
    assert make_client(allowed_hosts=["*"]).post("/query", json={"query": "x"},
                                                  headers={"host": "any.example"}).status_code == 200


@pytest.mark.parametrize(("method", "path"), [("POST", "/admin/reload"), ("POST", "/query"), ("GET", "/status"),
                                              ("GET", "/metrics")])
def test_cross_site_requests_to_a_keyless_server_are_refused(build_a: str, make_client: MakeClient,
                                                             method: str, path: str) -> None:
    client = make_client()
    headers = {"origin": "http://evil.example", "content-type": "text/plain"}
    response = client.request(method, path, content=b'{"query": "dropout"}', headers=headers)
    assert "Cross-site" in assert_error(response, 403, "forbidden")
    same = client.request(method, path, json={"query": "x"} if method == "POST" else None,
                          headers={"origin": "http://127.0.0.1:8000"})
    assert same.status_code != 403
    assert client.get("/healthz", headers={"origin": "http://evil.example"}).status_code == 200


def test_with_keys_the_key_is_the_guard(build_a: str, make_client: MakeClient) -> None:
    client = make_client(api_keys=[GOOD])
    response = client.post("/query", json={"query": "x"}, headers={"host": "any.example", "X-API-Key": GOOD,
                                                                   "origin": "http://other.example"})
    assert response.status_code == 200
