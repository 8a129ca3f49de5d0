"""Alert e-mails: rendered in Spanish (text + HTML with an inline chart) and delivered over SMTP.

Crawled text is hostile input: the HTML template is rendered with autoescape, so a headline
holding ``<script>`` arrives as text. Delivery retries with back-off on connection failures
and temporary (4xx) answers, and reports each recipient's outcome, so an alert is marked sent
only for the addresses the server accepted and a rejected address shows in `alerts history`.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from vigia.alerts.state import Alert
from vigia.config import SmtpSettings

log = logging.getLogger(__name__)
CHART_CID = "grafico"

_env = Environment(
    loader=PackageLoader("vigia.alerts", "templates"),
    autoescape=select_autoescape(["html", "html.jinja"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def headline(alert: Alert) -> str:
    """What happened, in one line (the subject, and the heading of the body)."""
    p = alert.payload
    title = p.get("title") or alert.watchlist
    if alert.kind == "spike":
        return (
            f"Subió «{title}»: {p['count']} historias en {p['window_label']}, "
            f"{p['ratio_label']} lo esperado ({p['expected_label']})"
        )
    if alert.kind == "new":
        n = len(p.get("stories", []))
        return f"«{title}»: {n} {'historia nueva' if n == 1 else 'historias nuevas'}"
    if alert.kind == "digest":
        n = len(p.get("stories", []))
        return f"Resumen {p.get('every_label', '')} de «{title}»: {n} {'historia' if n == 1 else 'historias'}"
    if alert.kind == "silence":
        return f"{title}: sin artículos nuevos desde hace {p.get('silent_label', '')}"
    return f"Prueba de la alerta «{title}»"


def subject(alert: Alert) -> str:
    # A header never carries a line break, whatever the watchlist's description holds.
    return " ".join(f"[Vigía] {headline(alert)}".split())


def message_id(alert: Alert, sender: str) -> str:
    """Stable per alert: a resend after a crash carries the same id, so duplicates can be dropped."""
    domain = sender.rpartition("@")[2] or "vigia.local"
    return f"<{alert.alert_id}.{alert.kind}@{domain}>"


def build_message(alert: Alert, smtp: SmtpSettings) -> EmailMessage:
    """The multipart message: text, and HTML with the chart as an inline (cid:) image."""
    chart = alert.payload.get("chart_png")
    context: dict[str, Any] = {"p": alert.payload, "headline": headline(alert), "subject": subject(alert)}
    message = EmailMessage()
    message["Subject"] = subject(alert)
    message["From"] = smtp.sender
    message["To"] = ", ".join(r.address for r in alert.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = alert.message_id or message_id(alert, smtp.sender)
    message["X-Vigia-Alert"] = alert.alert_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_env.get_template("alert.txt.jinja").render(**context, chart_cid=None), charset="utf-8")
    cid = make_msgid(CHART_CID, domain="vigia.local") if chart else None
    html = _env.get_template("alert.html.jinja").render(**context, chart_cid=cid[1:-1] if cid else None)
    message.add_alternative(html, subtype="html", charset="utf-8")
    if chart and cid:
        html_part = message.get_payload()[1]
        html_part.add_related(
            base64.b64decode(chart), maintype="image", subtype="png", cid=cid, filename="grafico.png",
            disposition="inline",
        )  # fmt: skip
    return message


@dataclass
class Outcome:
    """Per address: sent, or failed with the server's answer."""

    sent: list[str]
    failed: dict[str, str]
    error: str | None = None  # the last connection-level error, when nothing could be sent


def deliver(message: EmailMessage, recipients: list[str], smtp: SmtpSettings) -> Outcome:
    """Send to ``recipients``; retry (back-off) connection errors and 4xx answers, per address.
    A 5xx rejection of an address is final for it; the others still get the message."""
    pending = list(dict.fromkeys(recipients))
    sent: list[str] = []
    failed: dict[str, str] = {}
    error: str | None = None
    for attempt in range(smtp.retries + 1):
        if attempt:
            delay = smtp.retry_base_s * 2 ** (attempt - 1)
            log.warning("SMTP attempt %d failed (%s); retrying in %.1f s", attempt, error, delay)
            time.sleep(delay)
        try:
            refused = _send_once(message, pending, smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except smtplib.SMTPAuthenticationError as exc:
            error = f"the server refused the SMTP login ({exc.smtp_code} {_text(exc.smtp_error)}): fix smtp.username / password"
            break
        except (smtplib.SMTPResponseException, smtplib.SMTPSenderRefused) as exc:
            error = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                break
            continue
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            continue
        error = None
        sent += [a for a in pending if a not in refused]
        retry = []
        for address, (code, text) in refused.items():
            if 400 <= code < 500 and attempt < smtp.retries:
                retry.append(address)
            else:
                failed[address] = f"{code} {_text(text)}"
        pending = retry
        if not pending:
            break
    for address in pending:
        failed.setdefault(address, error or "not delivered")
    return Outcome(sent, failed, error)


def _send_once(message: EmailMessage, recipients: list[str], smtp: SmtpSettings) -> dict[str, tuple[int, bytes]]:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=context)
        password = smtp.secret()
        if smtp.username and password is not None:
            client.login(smtp.username, password)
        return client.send_message(message, from_addr=smtp.sender, to_addrs=recipients)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
