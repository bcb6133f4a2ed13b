"""A real SMTP server (aiosmtpd), a real webhook receiver on loopback, projects using them."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from martlake.config import Project, load_project
from martlake.warehouse import DuckDBWarehouse
from tests.conftest import FIXTURES

ALERTS = FIXTURES / "alerts"
WEBHOOK_PATH = "/services/T0000/B0000/hook-Xy7Secret"
SMTP_USER = "alerts"
SMTP_PASSWORD = "smtp-pass-Zq81x"  # the one in tests/fixtures/alerts/secrets.toml


class Inbox:
    """Collects every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == SMTP_USER.encode()
            and data.password == SMTP_PASSWORD.encode()
        )
        if ok:
            self.logins.append(SMTP_USER)
        return AuthResult(success=ok, handled=False, auth_data=data)

    @property
    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for _, m in self.messages]


class WebhookReceiver:
    """Records every POSTed JSON body and answers `status` (Slack says `ok` on 200)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        self.delay = 0.0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - stdlib API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != WEBHOOK_PATH:
                    self._answer(404, b"no_service")
                    return
                outer.posts.append(json.loads(body))
                time.sleep(outer.delay)
                self._answer(outer.status, b"ok" if outer.status == 200 else b"internal_error")

            def _answer(self, status: int, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{WEBHOOK_PATH}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=inbox.authenticate,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def inbox(smtp_server: tuple[Inbox, int]) -> Inbox:
    smtp_server[0].messages.clear()
    smtp_server[0].logins.clear()
    return smtp_server[0]


@pytest.fixture
def webhook(receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:
    receiver.posts.clear()
    receiver.status, receiver.delay = 200, 0.0
    yield receiver
    receiver.status, receiver.delay = 200, 0.0


MakeProject = Callable[..., Project]


@pytest.fixture
def make_project(
    tmp_path: Path, smtp_server: tuple[Inbox, int], receiver: WebhookReceiver
) -> MakeProject:
    """A project alerting to both local servers; keyword arguments are extra `MARTLAKE__*` env
    vars (`ALERTS__SUPPRESS_HOURS="1"`)."""

    def make(**env: str) -> Project:
        shutil.copy(ALERTS / "martlake.toml", tmp_path / "martlake.toml")
        (tmp_path / ".martlake").mkdir(exist_ok=True)
        shutil.copy(ALERTS / "secrets.toml", tmp_path / ".martlake" / "secrets.toml")
        environ = {
            "MARTLAKE__ALERTS__EMAIL__PORT": str(smtp_server[1]),
            "MARTLAKE__ALERTS__SLACK__WEBHOOK_URL": receiver.url,
        }
        environ.update({f"MARTLAKE__{k}": v for k, v in env.items()})
        return load_project(tmp_path, environ=environ)

    return make


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    wh.ensure_meta()
    return wh
