"""E-mail delivery: SMTP settings from [smtp] and the environment, MIME messages, one SMTP session.

The password comes only from SALESREPORT_SMTP_PASSWORD or a file named in [smtp] password_file, never
from argv, and never appears in a message or an error.
"""

from __future__ import annotations

import base64
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from ..config import Config
from ..engine.registry import metric_def
from ..errors import ConfigError, DeliveryError
from ..model import Report, Status

SECURITY = ("starttls", "ssl", "none")
DEFAULT_SUBJECT = "{report} sales report — {period} — {on_target} of {rated} on target"
ENV = "SALESREPORT_SMTP_"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    sender: str = "salesreport@localhost"
    subject: str = DEFAULT_SUBJECT
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0


def smtp_settings(config: Config, env: Mapping[str, str] | None = None) -> SmtpSettings:
    """[smtp] of the config, overridden by SALESREPORT_SMTP_HOST, _PORT, _SECURITY, _USER, _FROM."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = dict(config.smtp)
    for key, name in (("host", "HOST"), ("port", "PORT"), ("security", "SECURITY"), ("user", "USER"),
                      ("from", "FROM")):
        if env.get(ENV + name):
            raw[key] = env[ENV + name]
    security = str(raw.get("security", "starttls")).lower()
    if security not in SECURITY:
        raise ConfigError(f"SMTP security must be one of {', '.join(SECURITY)}, not {security!r} "
                          f"([smtp] security or {ENV}SECURITY).")
    try:
        port = int(raw.get("port", 465 if security == "ssl" else 587))
    except ValueError:
        raise ConfigError(f"SMTP port must be a number ([smtp] port or {ENV}PORT).") from None
    password = env.get(ENV + "PASSWORD")
    if password is None and raw.get("password_file"):
        path = Path(raw["password_file"])
        path = path if path.is_absolute() else config.base_dir / path
        try:
            password = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"[smtp] password_file {path}: cannot be read ({exc.strerror}).") from None
    return SmtpSettings(host=str(raw.get("host", "localhost")), port=port, security=security,
                        user=raw.get("user") or None, sender=str(raw.get("from", "salesreport@localhost")),
                        subject=str(raw.get("subject", DEFAULT_SUBJECT)), password=password)


def subject_for(report: Report, template: str) -> str:
    """The subject line, e.g. "Daily sales report — Wed 18 Nov 2026 — 3 of 5 on target"."""
    p = report.current.period
    period = {"day": p.start.strftime("%a %d %b %Y"), "month": p.start.strftime("%B %Y"),
              "quarter": f"{p.label} ({p.start:%b}–{p.end:%b %Y})"}.get(p.kind, p.label)
    rated = _rated(report)
    fields = {"report": report.name.capitalize(), "period": period, "label": p.label,
              "on_target": sum(mv.status is Status.GOOD for mv in rated), "rated": len(rated)}
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"[smtp] subject {template!r} cannot be filled ({exc}); it may use "
                          f"{{{'}, {'.join(fields)}}}.") from None


def _rated(report: Report) -> list:
    """The figures with a status the subject counts. A daily mail counts the figures of the day (actions per
    SDR or AE against their daily target), not the cohort ratios that move over months; one rep's mail
    counts that rep's own."""
    pr = report.current
    if report.name != "daily":
        return [mv for mv in pr.metrics.values() if mv.status is not None]
    blocks = list(pr.by_rep.values())
    pool = blocks[0].metrics if len(blocks) == 1 else pr.metrics
    return [mv for metric_id, mv in pool.items() if mv.status is not None and metric_def(metric_id).ratio_of is None]


def build_message(
    report: Report, recipients: list[str], settings: SmtpSettings, *, html: str, text: str,
    attachment: tuple[str, bytes] | None = None,
) -> EmailMessage:
    """multipart/alternative (text, HTML), plus the workbook when one is attached."""
    msg = EmailMessage()
    msg["Subject"] = subject_for(report, settings.subject)
    msg["From"] = settings.sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="salesreport")
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if attachment is not None:
        name, data = attachment
        msg.make_mixed()
        msg.add_attachment(data, maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=name)
    return msg


def for_rep(report: Report, name: str) -> Report:
    """The report as one rep sees it: the team figures, only their own per-rep block, and only their own deals."""
    periods = [replace(pr, by_rep={k: v for k, v in pr.by_rep.items() if k == name}) for pr in report.periods]
    deals = report.deals
    if deals is not None:
        owner = deals.column("Owner")
        rows = [row for row in deals.rows if row[owner] == name]
        deals = replace(deals, rows=rows, total=len(rows) if deals.total == len(deals.rows) else deals.total)
    return replace(report, periods=periods, deals=deals)


def _login(client: smtplib.SMTP, user: str, password: str) -> None:
    """One AUTH attempt: PLAIN when offered (over TLS), else smtplib's own choice. Trying a second
    mechanism after a refusal makes some servers hang until the timeout."""
    client.ehlo_or_helo_if_needed()
    offered = client.esmtp_features.get("auth", "").upper().split()
    try:
        if "PLAIN" in offered:
            _auth_utf8(client, "PLAIN", f"\0{user}\0{password}")
        elif "LOGIN" in offered and not (user + password).isascii():
            _auth_utf8(client, "LOGIN", user, password)
        else:
            client.login(user, password)
    except smtplib.SMTPServerDisconnected:  # some servers hang up on a refused login
        raise smtplib.SMTPAuthenticationError(535, b"disconnected during login") from None


def _auth_utf8(client: smtplib.SMTP, mechanism: str, first: str, *more: str) -> None:
    """AUTH with each answer sent as base64 of its UTF-8 bytes (RFC 4616): smtplib encodes them as ASCII,
    so a password with "é" failed with UnicodeEncodeError before it reached the server."""
    def encoded(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    code, reply = client.docmd("AUTH", f"{mechanism} {encoded(first)}")
    for answer in more:
        if code != 334:
            break
        code, reply = client.docmd(encoded(answer))
    if code == 334:  # the server asked for more than the mechanism has: cancel the exchange
        code, reply = client.docmd("*")
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, reply)


def send(messages: list[EmailMessage], settings: SmtpSettings) -> None:
    """Send every message over one SMTP session; any failure is a DeliveryError (exit 3)."""
    where = f"{settings.host}:{settings.port}"
    context = ssl.create_default_context()
    sent = 0
    stage = "SMTP"
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                   context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                stage = "STARTTLS"
                client.starttls(context=context)
            if settings.user:
                stage = "AUTH (login)"
                if settings.password is None:
                    raise DeliveryError(
                        f"SMTP user {settings.user} has no password: set {ENV}PASSWORD or [smtp] password_file. "
                        "Nothing was sent.")
                _login(client, settings.user, settings.password)
            for msg in messages:
                client.send_message(msg)
                sent += 1
    except smtplib.SMTPAuthenticationError:
        raise DeliveryError(f"The SMTP server {where} refused the login of {settings.user}; check the user and "
                            f"{ENV}PASSWORD. Nothing was sent.") from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(f"The SMTP server {where} does not offer {stage}; check [smtp] security "
                            "(starttls, ssl or none) and whether the server wants a login. Nothing was sent.") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"TLS with {where} failed ({exc.reason}); check the server's certificate or "
                            "[smtp] security. Nothing was sent.") from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"The SMTP server {where} refused a mail ({type(exc).__name__}); {sent} of "
                            f"{len(messages)} message(s) were sent before it. Nothing is retried.") from None
    except OSError as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise DeliveryError(f"Could not reach the SMTP server {where} ({reason}); check [smtp] host and port "
                            f"or {ENV}HOST. {sent} of {len(messages)} message(s) were sent.") from None


def messages_for(
    report: Report, recipients: list[str], settings: SmtpSettings, *, per_rep: bool, attach_xlsx: bool,
    templates: Path | None = None, warnings: bool = False,
) -> tuple[list[EmailMessage], list[str]]:
    """The team mail to `recipients`, and with per_rep one mail per rep with an e-mail address.
    Returns the messages and notes (reps without an address). The data warnings are for whoever set up the
    job (stderr, the cron log): a mail carries them only with `warnings`."""
    from .html import environment, render_html, render_text
    from .xlsx import workbook_bytes

    if not warnings:
        report = replace(report, warnings=[])
    env = environment(templates)
    label = report.current.period.label

    def one(r: Report, to: list[str]) -> EmailMessage:
        attachment = (f"{r.name}-{label}.xlsx", workbook_bytes(r)) if attach_xlsx else None
        return build_message(r, to, settings, html=render_html(r, env), text=render_text(r, env),
                             attachment=attachment)

    messages = [one(report, recipients)] if recipients else []
    notes = []
    if per_rep:
        missing = [name for name in report.current.by_rep if name not in report.rep_emails]
        if missing:
            notes.append(f"No e-mail address in reps.csv for {', '.join(missing)}: they get no mail.")
        messages += [one(for_rep(report, name), [report.rep_emails[name]])
                     for name in report.current.by_rep if name in report.rep_emails]
    return messages, notes


def preview(messages: list[EmailMessage], folder: Path | None = None) -> str:
    """The mails as a person checks them before the first send: headers and the text part as read, the HTML
    part and any attachment named by size. With `folder`, each mail's HTML part (and attachment) is written
    there to open in a browser, one file per mail, and the text says where."""
    from .files import write_atomic

    out = []
    for number, msg in enumerate(messages, 1):
        lines = [f"{'=' * 30} mail {number} of {len(messages)} {'=' * 30}"]
        lines += [f"{name}: {msg[name]}" for name in ("From", "To", "Subject") if msg[name] is not None]
        html = msg.get_body(preferencelist=("html",))
        text = msg.get_body(preferencelist=("plain",))
        files = [(html.get_content().encode("utf-8"), "html")] if html is not None else []
        files += [(part.get_content(), part.get_filename() or "attachment") for part in msg.iter_attachments()]
        stem = f"mail-{number:02d}-" + "".join(c if c.isalnum() or c in "@.-_" else "_" for c in str(msg["To"]))[:60]
        for data, kind in files:
            label = "HTML part" if kind == "html" else f"attachment {kind}"
            if folder is None:
                lines.append(f"[{label}: {len(data):,} bytes; --dry-run-dir DIR writes it to a file]")
                continue
            path = folder / (f"{stem}.html" if kind == "html" else f"{stem}-{Path(kind).name}")
            write_atomic(path, data)
            lines.append(f"[{label}: {path}]")
        lines += ["", text.get_content().rstrip() if text is not None else "(no text part)", ""]
        out.append("\n".join(lines))
    return "\n".join(out)
