from __future__ import annotations

from datetime import UTC, datetime

from martlake.alerts import Alert, Notification
from martlake.alerts import slack as slack_channel
from martlake.quality import Severity

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def alert(table: str, severity: Severity = Severity.WARN, **extra: object) -> Alert:
    return Alert(
        key=f"freshness:{table}",
        check="freshness",
        table=table,
        severity=severity,
        message=f"{table} is stale",
        run_id="r1",
        first_seen=T0,
        **extra,  # type: ignore[arg-type]
    )


def test_subjects_name_severity_check_and_table_or_count() -> None:
    one = Notification("alert", (alert("raw_shopify.orders", Severity.CRITICAL),), "p", "r1", T0)
    warnings = Notification("digest", (alert("a"), alert("b")), "p", "r1", T0)
    single = Notification("digest", (alert("a"),), "p", "r1", T0)
    resolved = Notification(
        "resolved",
        (alert("a", Severity.OK, resolved=True), alert("b", resolved=True)),
        "p",
        "r",
        T0,
    )
    assert one.subject == "[martlake] CRITICAL freshness raw_shopify.orders"
    assert warnings.subject == "[martlake] 2 warnings"
    assert single.subject == "[martlake] 1 warning"
    assert resolved.subject == "[martlake] resolved: 2 alerts"


def test_slack_payload_caps_sections_and_escapes_mrkdwn() -> None:
    many = tuple(alert(f"raw.t{i}<&>") for i in range(25))
    payload = slack_channel.payload(Notification("digest", many, "p", "r1", T0))
    sections = [b for b in payload["blocks"] if b["type"] == "section"]
    assert len(payload["blocks"]) <= 50
    assert len(sections) == slack_channel.MAX_SECTIONS + 1
    assert sections[-1]["text"]["text"] == "… and 5 more"
    assert "raw.t0&lt;&amp;&gt;" in sections[0]["text"]["text"]
    assert payload["text"] == "[martlake] 25 warnings"
