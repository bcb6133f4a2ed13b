"""`dispatch` against a real SMTP server, a real webhook receiver and a real DuckDB file."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from martlake.alerts import AlertOutcome, OutcomeStatus, dispatch
from martlake.config import Project, load_project
from martlake.quality import CheckResult, Severity
from martlake.warehouse import DuckDBWarehouse
from tests.conftest import FIXTURES
from tests.integration.alerts.conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    WEBHOOK_PATH,
    Inbox,
    MakeProject,
    WebhookReceiver,
    free_port,
)

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
ORDERS = "raw_shopify.orders"
INSIGHTS = "raw_meta_ads.insights"


def freshness(table: str, severity: Severity, hours: float = 50.0) -> CheckResult:
    return CheckResult(
        check="freshness",
        table=table,
        severity=severity,
        message=f"newest load of {table} is {hours:g} h old",
        observed=hours,
        warn_threshold=24.0,
        critical_threshold=48.0,
        checked_at=T0,
    )


def run(
    project: Project,
    warehouse: DuckDBWarehouse,
    results: list[CheckResult],
    at: datetime,
) -> list[AlertOutcome]:
    return dispatch(project, warehouse, f"run-{at:%d%H%M}", results, now=at)


def statuses(outcomes: list[AlertOutcome]) -> list[tuple[str, str | None]]:
    return [(o.status.value, o.channel) for o in outcomes]


def test_critical_goes_at_once_to_slack_and_email(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project()
    results = [freshness(ORDERS, Severity.CRITICAL), freshness(INSIGHTS, Severity.OK, 2)]

    outcomes = run(project, warehouse, results, T0)

    assert statuses(outcomes) == [("sent", "slack"), ("sent", "email")]
    subject = f"[martlake] CRITICAL freshness {ORDERS}"
    [post] = webhook.posts
    assert post["text"] == subject
    header, section, context = post["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": subject, "emoji": True},
    }
    text = section["text"]["text"]
    assert ":red_circle: *CRITICAL* freshness" in text and f"`{ORDERS}`" in text
    assert "newest load of raw_shopify.orders is 50 h old" in text
    assert "observed 50 (warn 24, critical 48)" in text
    assert "run run-020600" in context["elements"][0]["text"]

    [(recipients, mail)] = inbox.messages
    assert recipients == ["data-team@shop.example", "ops@shop.example"]
    assert mail["Subject"] == subject and mail["From"] == "martlake@shop.example"
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert "observed 50 (warn 24, critical 48)" in plain.get_content()
    assert f"<code>{ORDERS}</code>" in html.get_content()
    assert INSIGHTS not in plain.get_content()
    assert inbox.logins == [SMTP_USER]

    rows = warehouse.query(
        "select alert_key, severity, state, suppressed, channels, first_seen, last_sent_at "
        "from martlake.dq_alert"
    )
    assert rows == [(f"freshness:{ORDERS}", "CRITICAL", "firing", False, "slack,email", T0, T0)]


def test_three_warnings_arrive_as_one_batched_message(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    tables = [ORDERS, INSIGHTS, "raw_tiktok_ads.ad_reports"]
    results = [freshness(t, Severity.WARN, 30) for t in tables]

    outcomes = run(make_project(), warehouse, results, T0)

    assert statuses(outcomes) == [("sent", "slack"), ("sent", "email")]
    assert inbox.subjects == ["[martlake] 3 warnings"]
    [post] = webhook.posts
    assert post["text"] == "[martlake] 3 warnings"
    sections = [b["text"]["text"] for b in post["blocks"] if b["type"] == "section"]
    assert len(sections) == 3 and all(s.startswith(":warning: *WARN*") for s in sections)
    body = inbox.messages[0][1].get_body(("plain",))
    assert body is not None and all(t in body.get_content() for t in tables)


def test_critical_and_errors_each_get_a_message_and_warnings_share_one(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    results = [
        freshness(ORDERS, Severity.WARN, 30),
        freshness(INSIGHTS, Severity.ERROR),
        freshness("raw_google_ads.campaign_stats", Severity.CRITICAL),
    ]

    run(make_project(), warehouse, results, T0)

    assert inbox.subjects == [
        "[martlake] CRITICAL freshness raw_google_ads.campaign_stats",
        f"[martlake] ERROR freshness {INSIGHTS}",
        "[martlake] 1 warning",
    ]
    assert [p["text"] for p in webhook.posts] == inbox.subjects


def test_same_alert_within_suppress_hours_is_not_sent_again(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project()
    run(project, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0)
    inbox.messages.clear()
    webhook.posts.clear()

    again = run(
        project, warehouse, [freshness(ORDERS, Severity.CRITICAL, 52)], T0 + timedelta(hours=2)
    )
    milder = run(
        project, warehouse, [freshness(ORDERS, Severity.WARN, 30)], T0 + timedelta(hours=3)
    )

    assert inbox.messages == [] and webhook.posts == []
    assert statuses(again) == statuses(milder) == [("suppressed", None)]
    rows = warehouse.query(
        "select severity, suppressed, first_seen, last_sent_at, last_sent_severity "
        "from martlake.dq_alert order by event_at"
    )
    assert rows == [
        ("CRITICAL", False, T0, T0, "CRITICAL"),
        ("CRITICAL", True, T0, T0, "CRITICAL"),
        ("WARN", True, T0, T0, "CRITICAL"),
    ]


def test_an_alert_that_gets_worse_is_sent_again(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project()
    run(project, warehouse, [freshness(ORDERS, Severity.WARN, 30)], T0)
    run(project, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0 + timedelta(hours=1))

    assert inbox.subjects == ["[martlake] 1 warning", f"[martlake] CRITICAL freshness {ORDERS}"]
    assert len(webhook.posts) == 2


def test_an_alert_is_sent_again_after_suppress_hours(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project()
    for hours in (0, 23, 24):
        run(project, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0 + timedelta(hours=hours))

    assert inbox.subjects == [f"[martlake] CRITICAL freshness {ORDERS}"] * 2
    assert len(webhook.posts) == 2

    shorter = make_project(ALERTS__SUPPRESS_HOURS="1")
    run(shorter, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0 + timedelta(hours=25))
    assert len(inbox.messages) == 3


def test_back_to_ok_sends_one_resolved_message_and_only_once(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project()
    run(project, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0)
    inbox.messages.clear()
    webhook.posts.clear()

    first = run(project, warehouse, [freshness(ORDERS, Severity.OK, 1)], T0 + timedelta(hours=1))
    second = run(project, warehouse, [freshness(ORDERS, Severity.OK, 1)], T0 + timedelta(hours=2))

    assert statuses(first) == [("sent", "slack"), ("sent", "email")] and second == []
    assert inbox.subjects == [f"[martlake] resolved: freshness {ORDERS}"]
    body = inbox.messages[0][1].get_body(("plain",))
    assert body is not None
    assert "RESOLVED" in body.get_content()
    assert "back to OK (was CRITICAL since 2026-03-02 06:00 UTC)" in body.get_content()
    [post] = webhook.posts
    assert post["blocks"][1]["text"]["text"].startswith(":white_check_mark: *RESOLVED*")

    # Firing again after the resolution is a new alert, whatever suppress_hours says.
    run(project, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0 + timedelta(hours=3))
    assert inbox.subjects[-1] == f"[martlake] CRITICAL freshness {ORDERS}"
    states = warehouse.query("select state, first_seen from martlake.dq_alert order by event_at")
    assert states == [
        ("firing", T0),
        ("resolved", T0),
        ("firing", T0 + timedelta(hours=3)),
    ]


def test_a_check_that_did_not_run_is_neither_resolved_nor_sent_again(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    project = make_project()
    run(project, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0)
    later = T0 + timedelta(hours=30)
    other_check = CheckResult("schema_drift", ORDERS, Severity.OK, "no change")
    absent = run(project, warehouse, [other_check], later)
    skipped = run(project, warehouse, [freshness(ORDERS, Severity.SKIPPED)], later)
    only_skips = run(project, warehouse, [freshness(INSIGHTS, Severity.SKIPPED)], later)
    broken = CheckResult("freshness", "*", Severity.ERROR, "check `freshness` could not run")
    crashed = run(project, warehouse, [broken], later)

    assert absent == [] and skipped == [] and only_skips == []
    assert statuses(crashed) == [("sent", "slack"), ("sent", "email")]
    assert inbox.subjects == [
        f"[martlake] CRITICAL freshness {ORDERS}",
        "[martlake] ERROR freshness *",
    ]
    inbox.messages.clear()
    webhook.posts.clear()

    run(project, warehouse, [freshness(ORDERS, Severity.OK, 1)], later + timedelta(hours=1))
    assert inbox.subjects == ["[martlake] resolved: 2 alerts"]
    body = inbox.messages[0][1].get_body(("plain",))
    assert body is not None
    assert f"RESOLVED  freshness {ORDERS}" in body.get_content()
    assert "RESOLVED  freshness *" in body.get_content()


def test_a_failing_webhook_does_not_stop_the_email_and_is_reported(
    make_project: MakeProject,
    warehouse: DuckDBWarehouse,
    inbox: Inbox,
    webhook: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    webhook.status = 500
    project = make_project()

    with caplog.at_level(logging.WARNING, logger="martlake.alerts"):
        outcomes = run(project, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0)

    assert statuses(outcomes) == [("failed", "slack"), ("sent", "email")]
    error = outcomes[0].error or ""
    assert error.startswith("slack: the webhook answered HTTP 500 `internal_error`")
    assert "sent again by the next run" in error
    assert inbox.subjects == [f"[martlake] CRITICAL freshness {ORDERS}"]
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("martlake")]
    assert logged == [f"alert not delivered: {error}"]
    [(channels, failed)] = warehouse.query(
        "select channels, failed_channels from martlake.dq_alert"
    )
    assert (channels, failed) == ("email", "slack")


def test_an_unreachable_smtp_server_and_a_silent_webhook_fail_without_raising(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    webhook.delay = 1.5
    closed = str(free_port())
    project = make_project(ALERTS__EMAIL__PORT=closed, ALERTS__SLACK__TIMEOUT_SECONDS="0.3")

    outcomes = run(project, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0)

    assert statuses(outcomes) == [("failed", "slack"), ("failed", "email")]
    slack_error, email_error = (o.error or "" for o in outcomes)
    assert "did not answer within 0.3s" in slack_error
    assert f"`127.0.0.1:{closed}`" in email_error and "refused" in email_error.lower()
    assert "`[alerts.email] host`, `port`" in email_error
    assert inbox.messages == []

    # Nobody was told, so the next run tries again instead of suppressing it.
    webhook.delay = 0.0
    retry = make_project()
    again = run(retry, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0 + timedelta(hours=1))
    assert statuses(again) == [("sent", "slack"), ("sent", "email")]


def test_smtp_login_and_tls_mistakes_name_the_setting_to_fix(
    make_project: MakeProject, warehouse: DuckDBWarehouse, inbox: Inbox, webhook: WebhookReceiver
) -> None:
    wrong = make_project(ALERTS__EMAIL__PASSWORD="not-the-password")
    [_, bad_login] = run(wrong, warehouse, [freshness(ORDERS, Severity.CRITICAL)], T0)
    assert bad_login.status is OutcomeStatus.FAILED
    assert "refused the login of `alerts`" in (bad_login.error or "")
    assert "not-the-password" not in (bad_login.error or "")

    tls = make_project(ALERTS__EMAIL__STARTTLS="true")
    # Another check, so that the first alert is neither resolved nor suppressed here.
    drift = CheckResult("schema_drift", INSIGHTS, Severity.CRITICAL, "column `spend` dropped")
    [_, no_tls] = run(tls, warehouse, [drift], T0)
    assert "starttls = false" in (no_tls.error or "")
    assert inbox.messages == []


def test_no_secret_reaches_a_message_or_a_log_line(
    make_project: MakeProject,
    warehouse: DuckDBWarehouse,
    inbox: Inbox,
    webhook: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    project = make_project()
    leaky = CheckResult(
        "freshness",
        ORDERS,
        Severity.CRITICAL,
        f"GET {webhook.url} failed with password {SMTP_PASSWORD} <b>&</b>",
    )
    webhook.status = 500
    with caplog.at_level(logging.DEBUG, logger="martlake"):
        outcomes = run(project, warehouse, [leaky, freshness(INSIGHTS, Severity.WARN, 30)], T0)

    sent = [str(p) for p in webhook.posts] + [m.as_string() for _, m in inbox.messages]
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("martlake")]
    logged += [str(o) for o in outcomes]
    stored = [str(r) for r in warehouse.query("select * from martlake.dq_alert")]
    assert len(webhook.posts) == 2 and len(inbox.messages) == 2
    for text in sent + logged + stored:
        assert SMTP_PASSWORD not in text and WEBHOOK_PATH not in text
    html = inbox.messages[0][1].get_body(("html",))
    assert html is not None
    assert "failed with password *** &lt;b&gt;&amp;&lt;/b&gt;" in html.get_content()
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in webhook.posts[0]["blocks"][1]["text"]["text"]


def test_without_a_channel_nothing_is_sent_or_recorded(
    tmp_path_factory: pytest.TempPathFactory,
    inbox: Inbox,
    webhook: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    root = tmp_path_factory.mktemp("no_alerts")
    (root / "martlake.toml").write_bytes((FIXTURES / "config" / "minimal.toml").read_bytes())
    project = load_project(root, environ={})
    warehouse = DuckDBWarehouse(root / "warehouse.duckdb")

    with caplog.at_level(logging.DEBUG, logger="martlake.alerts"):
        outcomes = dispatch(project, warehouse, "r1", [freshness(ORDERS, Severity.CRITICAL)], T0)

    assert outcomes == [] and inbox.messages == [] and webhook.posts == []
    assert "no alert channel configured" in caplog.text
    assert not warehouse.path.exists()
