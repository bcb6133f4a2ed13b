from __future__ import annotations

import time

import pytest

from martlake.errors import AuthError, SourceError
from martlake.sources._http import HttpClient
from tests.conftest import ScriptedServer, free_port


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
