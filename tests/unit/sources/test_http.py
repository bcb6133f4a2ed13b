from __future__ import annotations

import time
from typing import Any

import pytest

from martlake.errors import AuthError, MartlakeError, RateLimitError, SourceError
from martlake.sources._http import HttpClient
from tests.conftest import ScriptedServer, free_port
from tests.unit.sources.conftest import RoutedServer


def test_retries_transient_errors_then_succeeds(scripted_server: ScriptedServer) -> None:
    scripted_server.script = [(503, {}, {"e": 1}), (500, {}, {}), (200, {}, {"ok": True})]
    with HttpClient("demo", scripted_server.url, backoff=0.01) as client:
        assert client.get_json("/x") == {"ok": True}
    assert len(scripted_server.requests) == 3


def test_honours_retry_after_on_429(scripted_server: ScriptedServer) -> None:
    scripted_server.script = [(429, {"Retry-After": "0.3"}, {}), (200, {}, {"ok": 1})]
    started = time.perf_counter()
    with HttpClient("demo", scripted_server.url, backoff=0.0) as client:
        assert client.get_json("/x") == {"ok": 1}
    assert time.perf_counter() - started >= 0.3


def test_gives_up_after_max_attempts(scripted_server: ScriptedServer) -> None:
    scripted_server.script = [(502, {}, {"e": "bad gateway"})]
    with HttpClient("demo", scripted_server.url, backoff=0.0, max_attempts=3) as client:
        with pytest.raises(SourceError, match="HTTP 502"):
            client.get("/x")
    assert len(scripted_server.requests) == 3


def test_auth_errors_from_the_mapper_are_not_retried(scripted_server: ScriptedServer) -> None:
    scripted_server.script = [(401, {}, {"errors": "bad"})]

    def mapper(response: object) -> AuthError:
        return AuthError("demo: token rejected")

    with HttpClient("demo", scripted_server.url, map_error=mapper, backoff=0.0) as client:
        with pytest.raises(AuthError):
            client.get("/x")
    assert len(scripted_server.requests) == 1


def test_unreachable_host_is_one_clear_line_without_secrets() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with HttpClient("demo", url, backoff=0.0, max_attempts=2) as client:
        with pytest.raises(SourceError) as err:
            client.get("/orders.json", params={"access_token": "EAAsecret"})
    message = str(err.value)
    assert message.startswith("demo: cannot reach")
    assert "EAAsecret" not in message and "\n" not in message


def test_non_json_body_is_a_contract_error(scripted_server: ScriptedServer) -> None:
    scripted_server.script = [(200, {}, b"<html>login</html>")]
    with HttpClient("demo", scripted_server.url) as client:
        with pytest.raises(SourceError, match="not JSON"):
            client.get_json("/x")


def test_post_sends_json_or_form_bodies_and_per_request_headers(api: RoutedServer) -> None:
    api.route = lambda call: (200, {"echo": call.method})
    with HttpClient("demo", api.url, headers={"X-Base": "1"}) as client:
        assert client.post_json("/j", json={"query": "SELECT 1"}, headers={"X-One": "a"}) == {
            "echo": "POST"
        }
        client.post("/f", data={"grant_type": "refresh_token"})
    first, second = api.calls
    assert first.json() == {"query": "SELECT 1"}
    assert first.headers["x-one"] == "a" and first.headers["x-base"] == "1"
    assert second.form() == {"grant_type": "refresh_token"} and "x-one" not in second.headers


def test_post_is_retried_on_5xx_like_get(api: RoutedServer) -> None:
    replies = iter([(503, {}), (200, {"ok": True})])
    api.route = lambda call: next(replies)
    with HttpClient("demo", api.url, backoff=0.0) as client:
        assert client.post_json("/x", json={"a": 1}) == {"ok": True}
    assert [c.json() for c in api.calls] == [{"a": 1}, {"a": 1}]


def _vendor_check(body: Any) -> MartlakeError | None:
    if body.get("code") == 40100:
        return RateLimitError("demo: throttled (code 40100)")
    if body.get("code") == 40105:
        return AuthError("demo: token rejected (code 40105)")
    return None


def test_body_check_retries_a_retryable_error_inside_http_200(api: RoutedServer) -> None:
    replies = iter([(200, {"code": 40100}), (200, {"code": 40100}), (200, {"code": 0})])
    api.route = lambda call: next(replies)
    with HttpClient("demo", api.url, check=_vendor_check, backoff=0.0) as client:
        assert client.get_json("/x") == {"code": 0}
    assert len(api.calls) == 3


def test_body_check_raises_a_permanent_error_at_once(api: RoutedServer) -> None:
    api.route = lambda call: (200, {"code": 40105})
    with HttpClient("demo", api.url, backoff=0.0) as client:
        with pytest.raises(AuthError, match="40105"):
            client.get_json("/x", check=_vendor_check)
    assert len(api.calls) == 1


def test_body_check_gives_up_after_max_attempts(api: RoutedServer) -> None:
    api.route = lambda call: (200, {"code": 40100})
    with HttpClient("demo", api.url, check=_vendor_check, backoff=0.0, max_attempts=2) as client:
        with pytest.raises(RateLimitError):
            client.get_json("/x")
    assert len(api.calls) == 2


def test_plain_get_ignores_the_body_check(api: RoutedServer) -> None:
    api.route = lambda call: (200, {"code": 40105})
    with HttpClient("demo", api.url, check=_vendor_check) as client:
        assert client.get("/x").status_code == 200


def test_shopify_pauses_when_the_call_limit_bucket_is_nearly_full(
    scripted_server: ScriptedServer,
) -> None:
    from pydantic import SecretStr

    from martlake.config import ShopifySettings
    from martlake.sources import ExtractContext, ShopifySource

    shop = {"shop": {"iana_timezone": "UTC"}}
    scripted_server.script = [
        (200, {}, shop),
        (200, {"X-Shopify-Shop-Api-Call-Limit": "39/40"}, {"orders": []}),
        (200, {}, {"events": []}),
        (200, {}, {"products": []}),
    ]
    settings = ShopifySettings(
        shop="s.myshopify.com", access_token=SecretStr("t"), base_url=scripted_server.url,
        bulk="never",
    )  # fmt: skip
    started = time.perf_counter()
    assert list(ShopifySource(settings).extract(ExtractContext(run_id="r"))) == []
    assert time.perf_counter() - started >= 1.5  # (39 - (40 - 4)) calls / 2 per second
