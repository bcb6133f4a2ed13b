"""What an alert says, independent of the channel that carries it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from martlake.quality import Severity

NotificationKind = Literal["alert", "digest", "resolved", "test"]
SUBJECT_PREFIX = "[martlake]"


class OutcomeStatus(StrEnum):
    """What happened to one notification on one channel."""

    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Alert:
    """One check on one table that is firing, or that came back to OK (`resolved`)."""

    key: str
    check: str
    table: str
    severity: Severity
    message: str
    run_id: str
    first_seen: datetime
    observed: float | None = None
    warn_threshold: float | None = None
    critical_threshold: float | None = None
    resolved: bool = False
    previous: Severity | None = None
    """For a resolved alert: the severity it was last alerted at."""

    @property
    def title(self) -> str:
        """`freshness raw_shopify.orders`."""
        return f"{self.check} {self.table}".strip()

    def figures(self) -> str:
        """`observed 50.2 (warn 24, critical 48)`, or empty when nothing was measured.

        >>> a = Alert("k", "freshness", "t", Severity.WARN, "m", "r", datetime(2026, 1, 1),
        ...           observed=30.25, warn_threshold=24, critical_threshold=48)
        >>> a.figures()
        'observed 30.25 (warn 24, critical 48)'
        """
        if self.observed is None:
            return ""
        limits = [
            f"{name} {_number(value)}"
            for name, value in (
                ("warn", self.warn_threshold),
                ("critical", self.critical_threshold),
            )
            if value is not None
        ]
        return f"observed {_number(self.observed)}" + (f" ({', '.join(limits)})" if limits else "")


@dataclass(frozen=True)
class Notification:
    """One message: a CRITICAL/ERROR alert, the run's warnings, resolutions, or a test."""

    kind: NotificationKind
    alerts: tuple[Alert, ...]
    project: str
    run_id: str
    sent_at: datetime

    @property
    def subject(self) -> str:
        """`[martlake] CRITICAL freshness raw_shopify.orders`, `[martlake] 3 warnings`, …"""
        if self.kind == "test":
            return f"{SUBJECT_PREFIX} test alert from {self.project}"
        if self.kind == "alert":
            alert = self.alerts[0]
            return f"{SUBJECT_PREFIX} {alert.severity.value} {alert.title}"
        if self.kind == "digest":
            count = len(self.alerts)
            return f"{SUBJECT_PREFIX} {count} warning{'s' if count != 1 else ''}"
        if len(self.alerts) == 1:
            return f"{SUBJECT_PREFIX} resolved: {self.alerts[0].title}"
        return f"{SUBJECT_PREFIX} resolved: {len(self.alerts)} alerts"

    @property
    def keys(self) -> tuple[str, ...]:
        """The alert keys this notification carries."""
        return tuple(a.key for a in self.alerts)

    def footer(self) -> str:
        """`project demo · run 20261123T…`."""
        return f"project {self.project} · run {self.run_id} · {_when(self.sent_at)}"

    def text(self) -> str:
        """The plain-text body (email text part)."""
        lines = [self.subject.removeprefix(SUBJECT_PREFIX).strip(), ""]
        if self.kind == "test":
            lines.append("martlake can reach this channel; alerts of failing checks arrive here.")
        for alert in self.alerts:
            lines.append(f"{state_label(alert)}  {alert.title}")
            lines.append(f"  {detail(alert)}")
            if alert.figures() and not alert.resolved:
                lines.append(f"  {alert.figures()}")
            lines.append("")
        lines.append(self.footer())
        return "\n".join(lines) + "\n"


def state_label(alert: Alert) -> str:
    """`CRITICAL`, `WARN`, … or `RESOLVED`."""
    return "RESOLVED" if alert.resolved else alert.severity.value


def detail(alert: Alert) -> str:
    """The alert's message, or what a resolution means."""
    if alert.resolved:
        was = f" (was {alert.previous.value}" if alert.previous else " (was firing"
        return f"back to {alert.severity.value}{was} since {_when(alert.first_seen)})"
    return alert.message


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _number(value: float) -> str:
    """Up to two decimals, no trailing zeros.

    >>> _number(48.0), _number(1234.5), _number(0.125)
    ('48', '1,234.5', '0.12')
    """
    return f"{value:,.2f}".rstrip("0").rstrip(".")
