"""SMTP email: a `multipart/alternative` message with a text and an HTML part (stdlib only)."""

from __future__ import annotations

import html
import smtplib
import ssl as _ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from martlake.alerts._message import Alert, Notification, detail, state_label
from martlake.config import EmailAlertSettings, redact
from martlake.errors import AlertError
from martlake.quality import Severity

NAME = "email"
_COLOUR = {
    Severity.CRITICAL: "#b91c1c",
    Severity.ERROR: "#c2410c",
    Severity.WARN: "#a16207",
}
_RESOLVED_COLOUR = "#15803d"


def message(settings: EmailAlertSettings, notification: Notification) -> EmailMessage:
    """The email: subject, sender, recipients, a text part and an HTML part."""
    msg = EmailMessage()
    msg["Subject"] = redact(notification.subject)
    msg["From"] = settings.from_address
    msg["To"] = ", ".join(settings.to)
    msg["Date"] = formatdate(notification.sent_at.timestamp(), usegmt=True)
    msg["Message-ID"] = make_msgid(
        domain=settings.from_address.rpartition("@")[2] or "martlake.local"
    )
    msg.set_content(redact(notification.text()), cte="quoted-printable")
    msg.add_alternative(redact(_html(notification)), subtype="html")
    return msg


def send(settings: EmailAlertSettings, notification: Notification) -> None:
    """Deliver the notification through the SMTP server.

    Raises:
        AlertError: The server cannot be reached, refused the login, the sender or the recipients.
    """
    where = f"`{settings.host}:{settings.port}`"
    msg = message(settings, notification)
    try:
        smtp: smtplib.SMTP
        if settings.ssl:
            smtp = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout_seconds,
                context=_ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        with smtp:
            if settings.starttls:
                smtp.starttls(context=_ssl.create_default_context())
            if settings.username:
                password = settings.password.get_secret_value() if settings.password else ""
                smtp.login(settings.username, password)
            smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError:
        raise AlertError(
            f"email: the SMTP server {where} refused the login of `{settings.username}`: check "
            "`[alerts.email] username` and `password` (in .martlake/secrets.toml)"
        ) from None
    except smtplib.SMTPSenderRefused:
        raise AlertError(
            f"email: the SMTP server {where} refused the sender `{settings.from_address}`: set "
            "`[alerts.email] from_address` to an address the server may send as"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(sorted(exc.recipients)) or ", ".join(settings.to)
        raise AlertError(
            f"email: the SMTP server {where} refused the recipients `{refused}`: check "
            "`[alerts.email] to`"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise AlertError(
            f"email: the SMTP server {where} does not support what martlake asked "
            f"({_reason(exc)}): set `[alerts.email] starttls = false` for a server without TLS "
            "(a trusted relay only), or remove `username` if it needs no login"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise AlertError(
            f"email: cannot send through the SMTP server {where} ({_reason(exc)}): check "
            "`[alerts.email] host`, `port` and `ssl`/`starttls`, and that the server is up"
        ) from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return redact(f"{exc.smtp_code} {text}".strip())
    if isinstance(exc, TimeoutError):
        return "timed out"
    return redact(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)


def _html(notification: Notification) -> str:
    rows = "\n".join(_row(alert) for alert in notification.alerts)
    intro = (
        "<p>martlake can reach this address; alerts of failing checks arrive here.</p>"
        if notification.kind == "test"
        else ""
    )
    table = (
        '<table cellpadding="6" style="border-collapse:collapse;font-family:sans-serif">'
        "<tr><th align=left>state</th><th align=left>check</th><th align=left>table</th>"
        f"<th align=left>details</th></tr>\n{rows}</table>"
        if notification.alerts
        else ""
    )
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<h2>{_e(notification.subject)}</h2>{intro}{table}"
        f'<p style="color:#6b7280;font-size:12px">{_e(notification.footer())}</p>'
        "</body></html>\n"
    )


def _row(alert: Alert) -> str:
    colour = _RESOLVED_COLOUR if alert.resolved else _COLOUR.get(alert.severity, "#374151")
    figures = (
        "" if alert.resolved or not alert.figures() else f"<br><small>{_e(alert.figures())}</small>"
    )
    return (
        f'<tr><td style="color:{colour};font-weight:bold">{_e(state_label(alert))}</td>'
        f"<td>{_e(alert.check)}</td><td><code>{_e(alert.table)}</code></td>"
        f"<td>{_e(detail(alert))}{figures}</td></tr>"
    )


def _e(text: str) -> str:
    return html.escape(text, quote=True)
