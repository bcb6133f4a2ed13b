"""When a run and `martlake check` send their alerts: CRITICAL/ERROR with their step, the
run's warnings in one message at its end (also when a step fails), resolutions once; none
with `--no-alerts`."""

from __future__ import annotations

from pathlib import Path

import pytest

from martlake.alerts import dispatch
from martlake.cli.app import main
from martlake.config import load_project
from martlake.errors import ReportError
from martlake.pipeline import NullProgress, RunOptions, run_pipeline
from martlake.pipeline._privacy import LEAK_CHECK, SCANNED
from martlake.pipeline._steps import RunContext, _checked, send_run_alerts
from martlake.quality import CheckResult, Severity
from martlake.warehouse import DuckDBWarehouse
from tests.integration.alerts.conftest import Inbox, MakeProject, WebhookReceiver
from tests.integration.alerts.test_alerts_cli import sandbox_project_with_alerts
from tests.integration.alerts.test_dispatch import INSIGHTS, ORDERS, T0, freshness

GONE = "inventory:raw_shopify.gone"


def test_a_run_sends_critical_alerts_with_their_step_and_its_warnings_once_at_the_end(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    rc = RunContext(make_project(), warehouse, "run-1", T0, NullProgress())
    mismatch = CheckResult("reconciliation", INSIGHTS, Severity.WARN, "spend 2 % off")
    clean = CheckResult(LEAK_CHECK, SCANNED, Severity.OK, "no plaintext email or phone number")

    _checked(rc, "quality", [freshness(ORDERS, Severity.WARN, 30)], "checks")
    _checked(rc, "reconcile", [mismatch, freshness("raw_x.y", Severity.CRITICAL)], "checks")
    _checked(rc, "publish", [clean], "places scanned")
    assert inbox.subjects == ["[martlake] CRITICAL freshness raw_x.y"]

    send_run_alerts(rc)

    assert inbox.subjects == ["[martlake] CRITICAL freshness raw_x.y", "[martlake] 2 warnings"]
    assert [p["text"] for p in webhook.posts] == inbox.subjects
    assert [o.subject for o in rc.alerts] == [s for s in inbox.subjects for _ in (1, 2)]


@pytest.fixture
def shop(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: tuple[Inbox, int],
    receiver: WebhookReceiver,
) -> Path:
    monkeypatch.setenv("MARTLAKE__ALERTS__EMAIL__PORT", str(smtp_server[1]))
    monkeypatch.setenv("MARTLAKE__ALERTS__SLACK__WEBHOOK_URL", receiver.url)
    root = sandbox_project_with_alerts(tmp_path)
    # An alert of a table no check reports any more, still firing from an earlier run.
    gone = CheckResult("inventory", "raw_shopify.gone", Severity.WARN, "`raw_shopify.gone` gone")
    dispatch(load_project(root), DuckDBWarehouse(root / "warehouse.duckdb"), "old", [gone])
    return root


def test_a_run_whose_later_step_fails_still_sends_its_resolutions(
    shop: Path, monkeypatch: pytest.MonkeyPatch, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    (shop / "blocked").write_text("a file where the output folder should be\n")
    monkeypatch.setenv("MARTLAKE__PUBLISH__OUTPUT_DIR", "blocked")
    inbox.messages.clear()

    with pytest.raises(ReportError, match="cannot write"):
        run_pipeline(
            load_project(shop), RunOptions(from_step="quality", skip=frozenset({"reconcile"}))
        )

    assert "[martlake] CRITICAL freshness raw_shopify.orders" in inbox.subjects
    assert inbox.subjects[-1] == "[martlake] resolved: inventory raw_shopify.gone"
    wh = DuckDBWarehouse(shop / "warehouse.duckdb")
    [(state,)] = wh.query(
        "select state from martlake.dq_alert where alert_key = ? order by event_at desc limit 1",
        [GONE],
    )
    assert state == "resolved"


def test_check_sends_alerts_like_a_run_unless_no_alerts(
    shop: Path,
    monkeypatch: pytest.MonkeyPatch,
    inbox: Inbox,
    webhook: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wh = DuckDBWarehouse(shop / "warehouse.duckdb")
    before = wh.query("select count(*) from martlake.dq_alert")[0][0]
    inbox.messages.clear()
    webhook.posts.clear()
    capsys.readouterr()

    assert main(["check", "-p", str(shop), "--no-alerts"]) == 1
    monkeypatch.setenv("MARTLAKE_NO_ALERTS", "1")
    assert main(["check", "-p", str(shop)]) == 1
    monkeypatch.delenv("MARTLAKE_NO_ALERTS")

    assert inbox.messages == [] and webhook.posts == []
    assert wh.query("select count(*) from martlake.dq_alert")[0][0] == before
    assert "alert sent" not in capsys.readouterr().out

    assert main(["check", "-p", str(shop)]) == 1

    out = capsys.readouterr().out
    subject = "[martlake] CRITICAL freshness raw_shopify.orders"
    assert f"alert sent to email: {subject}" in out
    assert subject in inbox.subjects and subject in [p["text"] for p in webhook.posts]
    assert inbox.subjects[-1] == "[martlake] resolved: inventory raw_shopify.gone"
    assert not any("warning" in s for s in inbox.subjects)
    [(run_id,)] = wh.query(
        "select distinct run_id from martlake.dq_alert where alert_key = ? and state = 'resolved'",
        [GONE],
    )
    assert run_id.startswith("check-")


def test_run_with_no_alerts_checks_and_keeps_the_results_but_tells_no_one(
    shop: Path, monkeypatch: pytest.MonkeyPatch, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    wh = DuckDBWarehouse(shop / "warehouse.duckdb")
    alerts = wh.query("select count(*) from martlake.dq_alert")[0][0]
    results = wh.query("select count(*) from martlake.dq_check_result")[0][0]
    inbox.messages.clear()
    webhook.posts.clear()

    assert main(["run", "-p", str(shop), "--only", "quality", "--no-alerts"]) == 1
    monkeypatch.setenv("MARTLAKE_NO_ALERTS", "1")
    assert main(["run", "-p", str(shop), "--only", "quality"]) == 1
    monkeypatch.delenv("MARTLAKE_NO_ALERTS")

    assert inbox.messages == [] and webhook.posts == []
    assert wh.query("select count(*) from martlake.dq_alert")[0][0] == alerts
    assert wh.query("select count(*) from martlake.dq_check_result")[0][0] > results

    assert main(["run", "-p", str(shop), "--only", "quality"]) == 1
    assert "[martlake] CRITICAL freshness raw_shopify.orders" in inbox.subjects
    assert inbox.subjects[-1] == "[martlake] resolved: inventory raw_shopify.gone"


@pytest.mark.slow
def test_a_failed_transform_skips_reconcile_so_stale_marts_raise_no_alert(
    shop: Path, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    (shop / "models").mkdir()
    (shop / "models" / "broken_model.sql").write_text("select cast('x' as integer) as n\n")
    inbox.messages.clear()

    result = run_pipeline(load_project(shop), RunOptions(from_step="transform"))

    status = {s.step: s for s in result.steps}
    assert status["transform"].status.value == "failed"
    assert "broken_model" in (status["transform"].message or "")
    for step in ("reconcile", "publish"):
        assert status[step].status.value == "skipped"
        assert "the transform failed" in (status[step].message or "")
    assert status["quality"].status.value == "failed"
    assert not [c for c in result.checks if c.check == "reconciliation"]
    assert "[martlake] CRITICAL freshness raw_shopify.orders" in inbox.subjects
    assert not [s for s in inbox.subjects if "reconciliation" in s]
    assert result.exit_code == 1
