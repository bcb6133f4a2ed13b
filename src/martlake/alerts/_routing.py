"""Which check results become which messages, suppression, resolution, and the alert history."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal

from martlake.alerts import email, slack
from martlake.alerts._message import Alert, Notification, OutcomeStatus
from martlake.config import AlertsSettings, Project, Settings, redact
from martlake.errors import AlertError, ConfigError
from martlake.quality import BROKEN_TABLE, CheckResult, Severity
from martlake.warehouse import DuckDBWarehouse
from martlake.warehouse.duckdb import META_SCHEMA

logger = logging.getLogger(__name__)

Sender = Callable[[Notification], None]
FIRING = "firing"
RESOLVED = "resolved"
Scope = Literal["all", "immediate", "deferred"]


@dataclass(frozen=True)
class AlertOutcome:
    """What became of one notification on one channel (`channel` is None when suppressed)."""

    status: OutcomeStatus
    channel: str | None
    subject: str
    keys: tuple[str, ...]
    error: str | None = None


@dataclass(frozen=True)
class _Previous:
    check: str
    table: str
    state: str
    severity: Severity
    first_seen: datetime
    last_sent_at: datetime | None
    last_sent_severity: Severity | None


def channels(settings: AlertsSettings) -> dict[str, Sender]:
    """The configured channels by name (`slack`, `email`), each a function sending one message."""
    out: dict[str, Sender] = {}
    if settings.slack is not None:
        out[slack.NAME] = partial(slack.send, settings.slack)
    if settings.email is not None:
        out[email.NAME] = partial(email.send, settings.email)
    return out


def alert_key(result: CheckResult) -> str:
    """`freshness:raw_shopify.orders`: one alert per check and table."""
    return f"{result.check}:{result.table}"


def dispatch(
    project: Project | Settings,
    warehouse: DuckDBWarehouse,
    run_id: str,
    results: Sequence[CheckResult],
    now: datetime | None = None,
    *,
    scope: Scope = "all",
) -> list[AlertOutcome]:
    """Send the alerts of one run's check results and record them in `martlake.dq_alert`.

    CRITICAL and ERROR results go out one message each; WARN results go out together in one
    message. A check already alerted at the same or a worse severity within `[alerts]
    suppress_hours` is not sent again; one that got worse is. A firing alert whose check ran
    and now finds it OK, or no longer reports its table at all (a leak gone, a dimension or
    KPI removed, a broken check that runs again), gets one "resolved" message. A check that
    did not run (absent from `results`, SKIPPED, or broken) keeps its alerts' state. A failing
    channel is logged and returned, never raised, and the other channels still get the
    message.

    A run calls this once per step with `scope="immediate"` (its CRITICAL/ERROR alerts, sent
    right away) and once at its end with all its results and `scope="deferred"` (everything
    else: the one message of warnings and the resolutions), so nothing is sent twice.

    Args:
        project: The project (or its settings) whose `[alerts]` section applies.
        warehouse: Holds the alert history.
        run_id: The run the results belong to.
        results: This run's check results.
        now: The time to judge suppression by; default: the current time.
        scope: `all`, or only the alerts due at once (`immediate`), or all others
            (`deferred`).

    Returns:
        One outcome per message and channel (sent or failed), plus one per suppressed alert;
        empty when no channel is configured.
    """
    settings = project.settings if isinstance(project, Project) else project
    config = settings.alerts
    senders = channels(config)
    if not senders:
        logger.debug("no alert channel configured ([alerts.slack], [alerts.email]): none sent")
        return []
    now = _aware(now or datetime.now(UTC))
    warehouse.ensure_meta()
    every = _worst_per_key(results)
    min_rank = Severity(config.min_severity).rank
    urgent = max(min_rank, Severity.ERROR.rank)
    current = {
        key: result
        for key, result in every.items()
        if scope == "all" or (result.severity.rank >= urgent) == (scope == "immediate")
    }
    ran: set[str] = set() if scope == "immediate" else _checks_that_ran(results)
    previous = _latest(warehouse, list(current), sorted(ran))
    window = timedelta(hours=config.suppress_hours)
    name = settings.project.name

    firing: list[Alert] = []
    suppressed: list[Alert] = []
    resolved: list[Alert] = []
    for key, result in current.items():
        prev = previous.get(key)
        ongoing = prev if prev is not None and prev.state == FIRING else None
        if result.severity is Severity.SKIPPED:
            continue
        if result.severity.rank >= min_rank:
            alert = _alert(key, result, run_id, ongoing.first_seen if ongoing else now)
            (suppressed if _suppressed(result, ongoing, now, window) else firing).append(alert)
        elif ongoing is not None:
            resolved.append(
                Alert(
                    key=key,
                    check=result.check,
                    table=result.table,
                    severity=result.severity,
                    message=redact(result.message),
                    run_id=run_id,
                    first_seen=ongoing.first_seen,
                    resolved=True,
                    previous=ongoing.last_sent_severity or ongoing.severity,
                )
            )
    for key, prev in sorted(previous.items()):
        if key not in every and prev.state == FIRING and prev.check in ran:
            resolved.append(
                Alert(
                    key=key,
                    check=prev.check,
                    table=prev.table,
                    severity=Severity.OK,
                    message=f"`{prev.check}` no longer reports `{prev.table}`",
                    run_id=run_id,
                    first_seen=prev.first_seen,
                    resolved=True,
                    previous=prev.last_sent_severity or prev.severity,
                )
            )

    immediate = sorted(
        (a for a in firing if a.severity.rank >= Severity.ERROR.rank),
        key=lambda a: -a.severity.rank,
    )
    notifications = [Notification("alert", (a,), name, run_id, now) for a in immediate]
    warnings = tuple(a for a in firing if a.severity.rank < Severity.ERROR.rank)
    if warnings:
        notifications.append(Notification("digest", warnings, name, run_id, now))
    # A resolution of an alert nobody received would be noise.
    announced = tuple(a for a in resolved if previous[a.key].last_sent_at is not None)
    if announced:
        notifications.append(Notification("resolved", announced, name, run_id, now))

    outcomes: list[AlertOutcome] = []
    delivered: dict[str, list[str]] = defaultdict(list)
    failed: dict[str, list[str]] = defaultdict(list)
    for notification in notifications:
        for outcome in _send(senders, notification):
            outcomes.append(outcome)
            for key in notification.keys:
                target = delivered if outcome.status is OutcomeStatus.SENT else failed
                target[key].append(outcome.channel or "")
    for alert in suppressed:
        logger.info(
            "alert suppressed, already sent within %gh: %s", config.suppress_hours, alert.key
        )
        subject = Notification("alert", (alert,), name, run_id, now).subject
        outcomes.append(AlertOutcome(OutcomeStatus.SUPPRESSED, None, subject, (alert.key,)))

    suppressed_keys = {a.key for a in suppressed}
    rows = []
    for alert in [*firing, *suppressed, *resolved]:
        prev = previous.get(alert.key)
        ongoing = prev if prev is not None and prev.state == FIRING else None
        sent_at = ongoing.last_sent_at if ongoing else None
        sent_severity = ongoing.last_sent_severity if ongoing else None
        if delivered[alert.key]:
            sent_at, sent_severity = now, alert.severity
        rows.append(
            (
                run_id,
                alert.key,
                alert.check,
                alert.table,
                alert.severity.value,
                RESOLVED if alert.resolved else FIRING,
                alert.key in suppressed_keys,
                alert.first_seen,
                sent_at,
                sent_severity.value if sent_severity else None,
                ",".join(delivered[alert.key]),
                ",".join(failed[alert.key]),
                alert.message,
                now,
            )
        )
    warehouse.executemany(
        f"insert into {META_SCHEMA}.dq_alert values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return outcomes


def send_test(project: Project | Settings, now: datetime | None = None) -> list[AlertOutcome]:
    """Send a test message to every configured channel.

    Returns:
        One outcome per channel.

    Raises:
        ConfigError: No channel is configured.
    """
    settings = project.settings if isinstance(project, Project) else project
    senders = channels(settings.alerts)
    if not senders:
        raise ConfigError(
            "no alert channel is configured: add `[alerts.slack] webhook_url` to "
            ".martlake/secrets.toml or an `[alerts.email]` section to martlake.toml"
        )
    moment = _aware(now or datetime.now(UTC))
    notification = Notification("test", (), settings.project.name, "test", moment)
    return list(_send(senders, notification))


def _send(senders: dict[str, Sender], notification: Notification) -> Iterable[AlertOutcome]:
    subject = redact(notification.subject)
    for channel, send in senders.items():
        try:
            send(notification)
        except AlertError as exc:
            error = redact(str(exc))
        except Exception as exc:  # noqa: BLE001 - one broken channel must not stop the run
            logger.debug("alert channel %s failed", channel, exc_info=True)
            error = redact(
                f"{channel}: unexpected failure ({type(exc).__name__}: {exc}): a bug in martlake, "
                "please report it with the output of `martlake -vv alerts test`"
            )
        else:
            logger.info("alert sent to %s: %s", channel, subject)
            yield AlertOutcome(OutcomeStatus.SENT, channel, subject, notification.keys)
            continue
        logger.warning("alert not delivered: %s", error)
        yield AlertOutcome(OutcomeStatus.FAILED, channel, subject, notification.keys, error)


def _suppressed(
    result: CheckResult, ongoing: _Previous | None, now: datetime, window: timedelta
) -> bool:
    if ongoing is None or ongoing.last_sent_at is None or ongoing.last_sent_severity is None:
        return False
    recent = now - ongoing.last_sent_at < window
    return recent and result.severity.rank <= ongoing.last_sent_severity.rank


def _alert(key: str, result: CheckResult, run_id: str, first_seen: datetime) -> Alert:
    return Alert(
        key=key,
        check=result.check,
        table=result.table,
        severity=result.severity,
        message=redact(result.message),
        run_id=run_id,
        first_seen=first_seen,
        observed=result.observed,
        warn_threshold=result.warn_threshold,
        critical_threshold=result.critical_threshold,
    )


def _worst_per_key(results: Iterable[CheckResult]) -> dict[str, CheckResult]:
    out: dict[str, CheckResult] = {}
    for result in results:
        key = alert_key(result)
        if key not in out or result.severity.rank > out[key].severity.rank:
            out[key] = result
    return out


def _checks_that_ran(results: Iterable[CheckResult]) -> set[str]:
    """Checks that looked at something: not only SKIPPED results, and not broken."""
    ran = {r.check for r in results if r.severity is not Severity.SKIPPED}
    return ran - {r.check for r in results if r.table == BROKEN_TABLE}


def _latest(warehouse: DuckDBWarehouse, keys: list[str], checks: list[str]) -> dict[str, _Previous]:
    """The latest event of each of `keys` and of every alert of `checks`."""
    if not keys and not checks:
        return {}
    rows = warehouse.query(
        f"""select alert_key, check_name, table_name, state, severity, first_seen, last_sent_at,
                   last_sent_severity
            from {META_SCHEMA}.dq_alert
            where alert_key in (select unnest(?::varchar[]))
               or check_name in (select unnest(?::varchar[]))
            qualify row_number() over (partition by alert_key order by event_at desc, rowid desc)
                = 1""",
        [keys, checks],
    )
    return {
        key: _Previous(
            check=check,
            table=table,
            state=state,
            severity=Severity(severity),
            first_seen=_aware(first_seen),
            last_sent_at=_aware(sent_at) if sent_at is not None else None,
            last_sent_severity=Severity(sent_severity) if sent_severity else None,
        )
        for key, check, table, state, severity, first_seen, sent_at, sent_severity in rows
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
