"""`martlake alerts test` and the alerts of `martlake run`, through the CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from martlake.cli.app import main
from martlake.warehouse import DuckDBWarehouse
from tests.integration.alerts.conftest import ALERTS, Inbox, WebhookReceiver


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, smtp_server: tuple[Inbox, int], receiver: WebhookReceiver
) -> None:
    monkeypatch.setenv("MARTLAKE__ALERTS__EMAIL__PORT", str(smtp_server[1]))
    monkeypatch.setenv("MARTLAKE__ALERTS__SLACK__WEBHOOK_URL", receiver.url)


def sandbox_project_with_alerts(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    assert main(["init", str(root), "--example", "dtc_brand"]) == 0
    with (root / "martlake.toml").open("a") as fh:
        fh.write("\n" + (ALERTS / "martlake.toml").read_text())
    with (root / ".martlake" / "secrets.toml").open("a") as fh:
        fh.write("\n" + (ALERTS / "secrets.toml").read_text())
    return root


@pytest.mark.usefixtures("env")
def test_alerts_test_reaches_every_channel(
    tmp_path: Path, inbox: Inbox, webhook: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sandbox_project_with_alerts(tmp_path)
    capsys.readouterr()

    assert main(["alerts", "test", "-p", str(root)]) == 0

    out = capsys.readouterr().out
    assert "alert sent to slack: [martlake] test alert from shop" in out
    assert "alert sent to email: [martlake] test alert from shop" in out
    assert inbox.subjects == ["[martlake] test alert from shop"]
    [post] = webhook.posts
    assert post["text"] == "[martlake] test alert from shop"
    assert [b["type"] for b in post["blocks"]] == ["header", "section", "context"]


@pytest.mark.usefixtures("env")
def test_alerts_test_exits_1_naming_the_channel_that_failed(
    tmp_path: Path, inbox: Inbox, webhook: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sandbox_project_with_alerts(tmp_path)
    webhook.status = 500
    capsys.readouterr()

    assert main(["alerts", "test", "-p", str(root)]) == 1

    out = capsys.readouterr().out
    assert "FAILED alert to slack: slack: the webhook answered HTTP 500" in out
    assert "alert sent to email" in out and len(inbox.messages) == 1


def test_alerts_test_without_a_channel_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "plain"
    assert main(["init", str(root), "--example", "dtc_brand"]) == 0

    assert main(["alerts", "test", "-p", str(root)]) == 2

    assert "no alert channel is configured: add `[alerts.slack] webhook_url`" in (
        capsys.readouterr().err
    )


@pytest.mark.usefixtures("env")
def test_run_sends_the_alerts_of_its_checks_and_shows_them(
    tmp_path: Path, inbox: Inbox, webhook: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing is loaded yet, so every source's freshness check is CRITICAL.
    root = sandbox_project_with_alerts(tmp_path)
    capsys.readouterr()

    assert main(["run", "-p", str(root), "--only", "quality"]) == 1

    out = capsys.readouterr().out
    subject = "[martlake] CRITICAL freshness raw_shopify.orders"
    assert subject in inbox.subjects and subject in [p["text"] for p in webhook.posts]
    assert f"alert sent to email: {subject}" in out
    wh = DuckDBWarehouse(root / "warehouse.duckdb")
    [(run_id,)] = wh.query("select run_id from martlake.runs")
    keys = wh.query(
        "select alert_key from martlake.dq_alert where run_id = ? and channels = 'slack,email'",
        [run_id],
    )
    assert ("freshness:raw_shopify.orders",) in keys

    # The next run a minute later finds them already sent.
    inbox.messages.clear()
    webhook.posts.clear()
    assert main(["run", "-p", str(root), "--only", "quality"]) == 1
    assert "alert(s) not sent again" in capsys.readouterr().out
    assert inbox.messages == [] and webhook.posts == []
