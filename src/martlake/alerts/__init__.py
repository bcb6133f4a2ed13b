"""Alerts of failing checks: Slack incoming webhook and SMTP email, with suppression and
resolution kept in `martlake.dq_alert`."""

from martlake.alerts._message import Alert, Notification, OutcomeStatus
from martlake.alerts._routing import AlertOutcome, alert_key, channels, dispatch, send_test

__all__ = [
    "Alert",
    "AlertOutcome",
    "Notification",
    "OutcomeStatus",
    "alert_key",
    "channels",
    "dispatch",
    "send_test",
]
