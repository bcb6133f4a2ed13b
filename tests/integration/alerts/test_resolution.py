"""Resolution of alerts whose key a check stops reporting, and a run's two dispatch scopes."""

from __future__ import annotations

from datetime import timedelta

from martlake.alerts import dispatch
from martlake.pipeline._privacy import LEAK_CHECK, SCANNED
from martlake.quality import CheckResult, Severity
from martlake.warehouse import DuckDBWarehouse
from tests.integration.alerts.conftest import Inbox, MakeProject, WebhookReceiver
from tests.integration.alerts.test_dispatch import (
    INSIGHTS,
    ORDERS,
    T0,
    freshness,
    run,
    statuses,
)

LATER = T0 + timedelta(hours=1)
REVENUE = "marts.marketing_unified:revenue"


def leak(place: str) -> CheckResult:
    return CheckResult(LEAK_CHECK, place, Severity.CRITICAL, f"plaintext email in `{place}`")


def drop(where: str, severity: Severity) -> CheckResult:
    return CheckResult("metric_drops", where, severity, f"revenue on 2026-03-01 in {where}")


def states(warehouse: DuckDBWarehouse) -> list[tuple[str, str, str]]:
    return warehouse.query(
        "select alert_key, state, severity from martlake.dq_alert order by event_at, alert_key"
    )


def clear(inbox: Inbox, webhook: WebhookReceiver) -> None:
    inbox.messages.clear()
    webhook.posts.clear()


def test_a_place_that_stopped_leaking_is_resolved_by_the_next_clean_scan(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project()
    run(project, warehouse, [leak("marts.customers.email")], T0)
    clear(inbox, webhook)

    clean = CheckResult(LEAK_CHECK, SCANNED, Severity.OK, "no plaintext email or phone number")
    outcomes = run(project, warehouse, [clean], LATER)

    assert statuses(outcomes) == [("sent", "slack"), ("sent", "email")]
    assert inbox.subjects == ["[martlake] resolved: privacy_leak marts.customers.email"]
    body = inbox.messages[0][1].get_body(("plain",))
    assert body is not None and "back to OK (was CRITICAL since" in body.get_content()
    assert states(warehouse)[-1] == ("privacy_leak:marts.customers.email", "resolved", "OK")

    # Resolved once: the next clean scan says nothing.
    assert run(project, warehouse, [clean], LATER + timedelta(hours=1)) == []


def test_a_broken_check_keeps_its_tables_alerts_and_is_resolved_once_it_runs_again(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project(ALERTS__SUPPRESS_HOURS="1")
    run(project, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0)
    broken = CheckResult("freshness", "*", Severity.ERROR, "check `freshness` could not run")
    run(project, warehouse, [broken], LATER)
    assert inbox.subjects == [
        f"[martlake] CRITICAL freshness {ORDERS}",
        "[martlake] ERROR freshness *",
    ]
    clear(inbox, webhook)

    recovered = [freshness(ORDERS, Severity.CRITICAL), freshness(INSIGHTS, Severity.OK, 2)]
    run(project, warehouse, recovered, LATER + timedelta(hours=2))

    # The table's alert was still firing (not resolved by the crash), so it is only repeated
    # because suppress_hours passed; the crash alert is resolved.
    assert inbox.subjects == [
        f"[martlake] CRITICAL freshness {ORDERS}",
        "[martlake] resolved: freshness *",
    ]
    latest = {key: state for key, state, _ in states(warehouse)}
    assert latest == {f"freshness:{ORDERS}": "firing", "freshness:*": "resolved"}


def test_a_dimension_or_kpi_no_longer_reported_is_resolved(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project()
    first = [
        drop(f"{REVENUE}[channel=tiktok]", Severity.WARN),
        drop("marts.shopify_daily_metrics:orders", Severity.CRITICAL),
        drop(f"{REVENUE}[channel=meta]", Severity.OK),
    ]
    run(project, warehouse, first, T0)
    clear(inbox, webhook)

    # tiktok spent nothing in the window and the `orders` KPI was disabled.
    run(project, warehouse, [drop(f"{REVENUE}[channel=meta]", Severity.OK)], LATER)

    assert inbox.subjects == ["[martlake] resolved: 2 alerts"]
    body = inbox.messages[0][1].get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert f"RESOLVED  metric_drops {REVENUE}[channel=tiktok]" in text
    assert "RESOLVED  metric_drops marts.shopify_daily_metrics:orders" in text
    assert "back to OK (was WARN since 2026-03-02 06:00 UTC)" in text
    assert "back to OK (was CRITICAL since 2026-03-02 06:00 UTC)" in text


def test_a_skipped_result_beside_an_ok_one_does_not_block_resolution(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project()
    run(project, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0)
    clear(inbox, webhook)

    both = [freshness(ORDERS, Severity.OK, 1), freshness(ORDERS, Severity.SKIPPED)]
    run(project, warehouse, both, LATER)

    assert inbox.subjects == [f"[martlake] resolved: freshness {ORDERS}"]


def test_immediate_then_deferred_sends_every_alert_once_and_warnings_together(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project()
    run(project, warehouse, [drop(f"{REVENUE}[channel=tiktok]", Severity.WARN)], T0)
    clear(inbox, webhook)
    quality = [
        freshness(ORDERS, Severity.CRITICAL),
        freshness(INSIGHTS, Severity.WARN, 30),
        drop(f"{REVENUE}[channel=meta]", Severity.OK),
    ]
    reconcile = [CheckResult("reconciliation", "raw_meta_ads.insights", Severity.WARN, "2 % off")]
    publish = [leak("martlake_output/report.xlsx")]

    for step in (quality, reconcile, publish):
        dispatch(project, warehouse, "r1", step, LATER, scope="immediate")
    assert inbox.subjects == [
        f"[martlake] CRITICAL freshness {ORDERS}",
        "[martlake] CRITICAL privacy_leak martlake_output/report.xlsx",
    ]
    everything = [*quality, *reconcile, *publish]
    deferred = dispatch(project, warehouse, "r1", everything, LATER, scope="deferred")

    assert statuses(deferred) == [("sent", "slack"), ("sent", "email")] * 2
    assert inbox.subjects[2:] == [
        "[martlake] 2 warnings",
        f"[martlake] resolved: metric_drops {REVENUE}[channel=tiktok]",
    ]
    assert [p["text"] for p in webhook.posts] == inbox.subjects
    events = warehouse.query(
        "select alert_key, count(*) from martlake.dq_alert where run_id = 'r1' group by all"
    )
    assert len(events) == 5 and all(n == 1 for _, n in events)
