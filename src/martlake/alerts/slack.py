"""Slack incoming webhook: one POST of a `text` fallback plus Block Kit `blocks`.

https://api.slack.com/messaging/webhooks answers `200 ok`, or an error code such as `400
invalid_blocks`, `403 invalid_token`, `404 no_service` or `410 channel_is_archived`.
"""

from __future__ import annotations

from typing import Any

import httpx

from martlake.alerts._message import Alert, Notification, detail, state_label
from martlake.config import SlackAlertSettings, redact
from martlake.errors import AlertError
from martlake.quality import Severity

NAME = "slack"
MAX_SECTIONS = 20
"""Slack allows 50 blocks per message; longer lists end with `… and N more`."""
_HEADER_LIMIT = 150
_SECTION_LIMIT = 3000
_EMOJI = {
    Severity.CRITICAL: ":red_circle:",
    Severity.ERROR: ":large_orange_circle:",
    Severity.WARN: ":warning:",
}
_FIX = "update `[alerts.slack] webhook_url` in .martlake/secrets.toml"


def payload(notification: Notification) -> dict[str, Any]:
    """The webhook body: a `text` fallback (notifications, old clients) and `blocks`."""
    subject = redact(notification.subject)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": subject[:_HEADER_LIMIT], "emoji": True},
        }
    ]
    if notification.kind == "test":
        blocks.append(_section(":bell: martlake can reach this channel; alerts arrive here."))
    for alert in notification.alerts[:MAX_SECTIONS]:
        blocks.append(_section(_alert_text(alert)))
    hidden = len(notification.alerts) - MAX_SECTIONS
    if hidden > 0:
        blocks.append(_section(f"… and {hidden} more"))
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": _escape(notification.footer())}],
        }
    )
    return {"text": subject, "blocks": blocks}


def send(settings: SlackAlertSettings, notification: Notification) -> None:
    """POST the notification to the webhook.

    Raises:
        AlertError: No answer within `timeout_seconds`, or Slack refused the message.
    """
    url = settings.webhook_url.get_secret_value()
    timeout = settings.timeout_seconds
    try:
        response = httpx.post(url, json=payload(notification), timeout=timeout)
    except httpx.TimeoutException:
        raise AlertError(
            f"slack: the webhook did not answer within {timeout:g}s: check the network or "
            "raise `[alerts.slack] timeout_seconds`"
        ) from None
    except httpx.HTTPError as exc:
        raise AlertError(
            f"slack: cannot reach the webhook ({redact(str(exc)) or type(exc).__name__}): check "
            f"the network and {_FIX}"
        ) from None
    if response.status_code == 200:
        return
    code = redact(response.text.strip()[:100]) or "no body"
    status = response.status_code
    if status in (403, 404, 410):
        fix = (
            f"the webhook was revoked, removed or its channel archived: create a new one and {_FIX}"
        )
    elif status == 429 or status >= 500:
        fix = (
            "Slack is throttling or failing (https://status.slack.com); an alert no channel "
            "received is sent again by the next run"
        )
    else:
        fix = "Slack refused the message: please report it as a martlake bug"
    raise AlertError(f"slack: the webhook answered HTTP {status} `{code}`: {fix}")


def _alert_text(alert: Alert) -> str:
    emoji = ":white_check_mark:" if alert.resolved else _EMOJI.get(alert.severity, ":bell:")
    lines = [
        f"{emoji} *{state_label(alert)}* {_escape(alert.check)} · `{_escape(alert.table)}`",
        _escape(detail(alert)),
    ]
    if alert.figures() and not alert.resolved:
        lines.append(f"_{_escape(alert.figures())}_")
    return redact("\n".join(lines))[:_SECTION_LIMIT]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _escape(text: str) -> str:
    """Slack's mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting).

    >>> _escape("a < b & c > d")
    'a &lt; b &amp; c &gt; d'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
