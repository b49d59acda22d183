"""Items 7, 10, 11: hostile requests, key roles, per-key rate limits, and the per-request time budget."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient

from semsearch import Searcher
from semsearch.settings import Settings
from services.api import auth as auth_module
from services.api import create_app
from services.api.ratelimit import RateLimiter
from tests.api.conftest import MakeClient, assert_error, publish
from tests.servers import serving

READ_KEY, ADMIN_KEY, OTHER_KEY = "read-key-7d2e", "admin-key-91c4", "other-key-5b0a"
QUERY = {"query": "dropout"}


@pytest.fixture
def keyed(build_a: str, make_client: MakeClient) -> TestClient:
    return make_client(api_keys=[READ_KEY, OTHER_KEY], admin_api_keys=[ADMIN_KEY])


def key(value: str) -> dict[str, str]:
    return {"X-API-Key": value}


# -- item 7: hostile request bodies, over a real server -------------------------------------------

@pytest.fixture
def server(build_a: str, make_settings: Callable[..., Settings]) -> Iterator[httpx.Client]:
    app = create_app(make_settings(api_keys=[READ_KEY]), reload_interval=0.0)
    with serving(app) as url, httpx.Client(base_url=url, timeout=10, headers=key(READ_KEY)) as http:
        yield http


def chunked(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 65536):
        yield data[start:start + 65536]


HOSTILE: list[tuple[str, dict[str, Any], int, str]] = [
    ("1 MB query", {"json": {"query": "x" * 2**20}}, 413, "payload_too_large"),
    ("1 MB without Content-Length", {"content": chunked(b'{"query": "' + b"x" * 2**20 + b'"}'),
                                     "headers": {"content-type": "application/json"}}, 413, "payload_too_large"),
    ("invalid UTF-8", {"content": b'{"query": "caf\xe9 \xff\xfe"}', "headers": {"content-type": "application/json"}},
     400, "bad_request"),
    ("raw NUL byte", {"content": b'{"query": "a\x00b"}', "headers": {"content-type": "application/json"}},
     422, "invalid_request"),
    ("escaped NUL only", {"json": {"query": "\x00\x00"}}, 422, "invalid_request"),
    ("form body", {"data": {"query": "dropout"}}, 415, "unsupported_media_type"),
    ("text body", {"content": b"dropout", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
    ("deep nesting", {"content": b'{"query": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                      "headers": {"content-type": "application/json"}}, 400, "bad_request"),
]


@pytest.mark.parametrize(("label", "request_kwargs", "status", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_bodies_get_their_4xx_in_the_one_shape(server: httpx.Client, index_dir: Path, label: str,
                                                       request_kwargs: dict[str, Any], status: int, code: str) -> None:
    response = server.post("/query", **request_kwargs)
    assert_error(response, status, code)
    assert str(index_dir.parent) not in response.text and "File \"" not in response.text
    assert server.get("/healthz").status_code == 200  # and the server is still there


@pytest.mark.parametrize("raw", [b"{not json", b'{"query": ', b"\xff\xfe", b""])
def test_auth_is_checked_before_the_body_is_parsed(keyed: TestClient, raw: bytes) -> None:
    response = keyed.post("/query", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 401, "unauthorized")
    assert_error(keyed.post("/query", content=raw, headers={"content-type": "text/plain"}), 401, "unauthorized")
    assert_error(keyed.post("/query", content=raw, headers={"content-type": "application/json",
                                                           **key(READ_KEY)}), 422, "invalid_request")


# -- item 10: key roles ---------------------------------------------------------------------------

def test_a_read_only_key_gets_403_on_an_admin_action(keyed: TestClient) -> None:
    message = assert_error(keyed.post("/admin/reload", headers=key(READ_KEY)), 403, "forbidden")
    assert "admin" in message
    assert keyed.post("/query", json=QUERY, headers=key(ADMIN_KEY)).status_code == 200  # admin can read


@pytest.mark.parametrize(("url", "headers"), [
    ("/admin/reload", {}),
    ("/admin/reload", key("wrong")),
    (f"/admin/reload?api_key={ADMIN_KEY}", {}),
    (f"/admin/reload?token={ADMIN_KEY}", key(ADMIN_KEY)),
])
def test_admin_actions_without_a_good_header_key_are_401(keyed: TestClient, url: str, headers: dict[str, str]) -> None:
    assert_error(keyed.post(url, headers=headers), 401, "unauthorized")


def test_an_admin_reload_serves_a_new_build_at_once(build_a: str, notes_b: Path, index_dir: Path,
                                                    make_client: MakeClient) -> None:
    client = make_client(reload_interval=3600.0, admin_api_keys=[ADMIN_KEY])
    assert client.post("/query", json=QUERY, headers=key(ADMIN_KEY)).json()["index"]["build_id"] == build_a
    build_b = publish(notes_b, index_dir)
    # the throttle would keep build A for an hour; the admin action checks now
    assert client.post("/query", json=QUERY, headers=key(ADMIN_KEY)).json()["index"]["build_id"] == build_a
    body = client.post("/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).json()
    assert body == {"reloaded": True, "index": body["index"]} and body["index"]["build_id"] == build_b
    assert client.post("/query", json=QUERY, headers=key(ADMIN_KEY)).json()["index"]["build_id"] == build_b
    assert client.post("/admin/reload", headers=key(ADMIN_KEY)).json()["reloaded"] is False


def test_admin_keys_from_the_keys_file(build_a: str, make_client: MakeClient, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# ops\n{READ_KEY}\n{ADMIN_KEY} admin\n")
    client = make_client(api_keys_file=keys_file)
    assert_error(client.post("/admin/reload", headers=key(READ_KEY)), 403, "forbidden")
    assert client.post("/admin/reload", headers=key(ADMIN_KEY)).status_code == 200


def test_keys_are_compared_in_constant_time_and_never_logged(keyed: TestClient, monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    compared: list[int] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(1)
        return real(a, b)

    monkeypatch.setattr(auth_module.hmac, "compare_digest", counting)
    caplog.set_level(logging.DEBUG)
    for supplied in (READ_KEY, ADMIN_KEY, "wrong", READ_KEY[:-1]):
        compared.clear()
        keyed.post("/admin/reload", headers=key(supplied))
        assert len(compared) == 3  # every key, whichever matched first: no early exit
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /admin/reload" in log and not any(k in log for k in (READ_KEY, ADMIN_KEY))


# -- item 11: rate limits and the time budget ------------------------------------------------------

def test_a_key_over_its_rate_gets_429_and_other_keys_do_not(build_a: str, make_client: MakeClient) -> None:
    client = make_client(api_keys=[READ_KEY, OTHER_KEY], rate_limit=1.0, rate_burst=3)
    statuses = [client.post("/query", json=QUERY, headers=key(READ_KEY)).status_code for _ in range(3)]
    assert statuses == [200] * 3
    limited = client.post("/query", json={"broken": True}, headers=key(READ_KEY))  # before validation
    assert "retry in 1 s" in assert_error(limited, 429, "rate_limited")
    assert limited.headers["retry-after"] == "1"
    assert client.post("/query", json=QUERY, headers=key(OTHER_KEY)).status_code == 200
    assert client.get("/healthz").status_code == 200  # health checks are never limited
    time.sleep(1.05)
    assert client.post("/query", json=QUERY, headers=key(READ_KEY)).status_code == 200


def test_without_keys_each_client_address_has_its_own_bucket() -> None:
    clock = [0.0]
    limiter = RateLimiter(2.0, 2, max_keys=3, clock=lambda: clock[0])
    assert [limiter.try_acquire("addr:a") for _ in range(3)] == [0.0, 0.0, 0.5]
    assert limiter.try_acquire("addr:b") == 0.0
    clock[0] = 0.5  # one token back for a
    assert limiter.try_acquire("addr:a") == 0.0
    for name in "cdefg":
        limiter.try_acquire(f"addr:{name}")
    assert len(limiter) == 3  # memory stays bounded whatever the number of clients


def test_rate_limiting_can_be_turned_off(build_a: str, make_client: MakeClient) -> None:
    client = make_client(rate_limit=0, rate_burst=1)
    assert [client.post("/query", json=QUERY).status_code for _ in range(5)] == [200] * 5


SLOW_SECONDS = 2.0


def test_a_query_past_its_budget_gets_504_and_frees_its_worker(
    build_a: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch, figures: dict[str, Any]
) -> None:
    """Slow searches (injected) on a threadpool of 2: each gets a 504 at the budget, and the fast
    queries after them are served at once, while the slow threads are still sleeping."""
    started: list[str] = []
    finished: list[str] = []
    real = Searcher.search

    def search(self: Searcher, query: str, *, top_k: int = 5, **filters: Any) -> Any:
        if query.startswith("slow"):
            started.append(query)
            time.sleep(SLOW_SECONDS)
            finished.append(query)
        return real(self, query, top_k=top_k, **filters)

    monkeypatch.setattr(Searcher, "search", search)
    app = create_app(make_settings(query_timeout=0.25), reload_interval=0.0)

    async def two_threads(scope: Any, receive: Any, send: Any) -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 2
        await app(scope, receive, send)

    with serving(two_threads) as url, httpx.Client(base_url=url, timeout=10) as http:  # type: ignore[arg-type]
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            slow = list(pool.map(lambda i: http.post("/query", json={"query": f"slow {i}"}), range(4)))
        fast = [http.post("/query", json={"query": f"dropout {i}"}) for i in range(5)]
        fast_done = time.perf_counter() - began
        still_sleeping = len(started) - len(finished)
        deadline = time.monotonic() + 10  # let the abandoned threads finish before the server stops
        while len(finished) < len(started) and time.monotonic() < deadline:
            time.sleep(0.05)
    for response in slow:
        assert "budget" in assert_error(response, 504, "timeout")
    assert [r.status_code for r in fast] == [200] * 5
    assert fast_done < SLOW_SECONDS and still_sleeping >= 2  # not queued behind the sleeping threads
    figures.update(slow_requests=4, timeouts=4, fast_served_while_slow_threads_slept=5,
                   slow_threads_still_sleeping=still_sleeping, fast_done_s=round(fast_done, 3))
