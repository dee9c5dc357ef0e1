"""E-mail: message structure, --dry-run, subject, escaping, per-rep fan-out; settings never leak secrets."""

from __future__ import annotations

import email
import io
import json
import os
from email import policy

import pytest
from openpyxl import load_workbook

from salesreport.config import Config, parse_config
from salesreport.errors import ConfigError
from salesreport.outputs.mail import smtp_settings

from .smtp_server import PASSWORD, USER, free_port, smtp_server
from .test_outputs import SAMPLE, run_cli


def test_dry_run_shows_the_mail_as_read_and_writes_its_html_part_to_open(tmp_path):
    args = ("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", "head@example.com", "--quiet")
    proc = run_cli(*args, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --quiet
    doc = json.loads(run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--format", "json").stdout)
    # the figures of the day: actions per SDR and per AE against 30 and 15 (the cohort ratio is left out)
    statuses = [doc["metrics"][k]["status"] for k in ("actions_per_day_sdr", "actions_per_day_ae")]
    assert all(statuses) and doc["metrics"]["conv_demo_appointed"]["status"]
    good = statuses.count("good")
    lines = proc.stdout.splitlines()
    assert "To: head@example.com" in lines
    assert f"Subject: Daily sales report — Wed 18 Nov 2026 — {good} of {len(statuses)} on target" in lines
    # the text part as a reader sees it (not quoted-printable MIME), the HTML part named by its size
    assert any(line.startswith("Sales actions ") for line in lines)
    assert "Content-Transfer-Encoding" not in proc.stdout and "=20" not in proc.stdout
    assert any(line.startswith("[HTML part: ") and "--dry-run-dir DIR" in line for line in lines)
    # --dry-run-dir writes the HTML part to a file a browser opens, and says where
    folder = tmp_path / "preview"
    proc = run_cli(*args, "--dry-run-dir", str(folder))
    assert proc.returncode == 0, proc.stderr
    (page,) = folder.iterdir()
    assert f"[HTML part: {page}]" in proc.stdout.splitlines()
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<table" in html and "Sales actions" in html


def test_settings_from_config_and_environment(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    config = parse_config({"smtp": {"host": "mail.example.com", "user": "bot", "password_file": str(secret)}})
    s = smtp_settings(config, env={"SALESREPORT_SMTP_PORT": "2525", "SALESREPORT_SMTP_SECURITY": "none"})
    assert (s.host, s.port, s.security, s.user, s.password) == ("mail.example.com", 2525, "none", "bot", "s3cret")
    assert "s3cret" not in repr(s)
    assert smtp_settings(config, env={"SALESREPORT_SMTP_PASSWORD": "other"}).password == "other"
    with pytest.raises(ConfigError, match="SALESREPORT_SMTP_PASSWORD"):
        parse_config({"smtp": {"password": "inline"}})
    with pytest.raises(ConfigError, match="security"):
        smtp_settings(Config(), env={"SALESREPORT_SMTP_SECURITY": "tls13"})


# --- against a real SMTP server on 127.0.0.1 (STARTTLS + AUTH) ------------------------------------------


def _env(port: int, ca_file, password: str = PASSWORD) -> dict:
    return {**os.environ, "SALESREPORT_SMTP_HOST": "127.0.0.1", "SALESREPORT_SMTP_PORT": str(port),
            "SALESREPORT_SMTP_SECURITY": "starttls", "SALESREPORT_SMTP_USER": USER,
            "SALESREPORT_SMTP_FROM": "Sales reports <reports@example.com>",
            "SALESREPORT_SMTP_PASSWORD": password, "SSL_CERT_FILE": str(ca_file)}


def test_sends_over_starttls_with_auth_and_an_xlsx_attachment(tmp_path):
    with smtp_server(tmp_path) as (inbox, port, ca):
        proc = run_cli("weekly", "--data", str(SAMPLE), "--week", "2026-W46", "--email", "team@example.com",
                       "--email", "head@example.com", "--attach", "xlsx", env=_env(port, ca))
        assert proc.returncode == 0, proc.stderr
    assert len(inbox.messages) == 1
    rcpt, raw = inbox.messages[0]
    assert rcpt == ["team@example.com", "head@example.com"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    assert str(msg["Subject"]).startswith("Weekly sales report — 2026-W46 — ")
    assert msg.get_body(("html",)) is not None and msg.get_body(("plain",)) is not None
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "weekly-2026-W46.xlsx"
    assert load_workbook(io.BytesIO(attachment.get_content())).sheetnames[0] == "Weekly"
    assert PASSWORD not in proc.stdout + proc.stderr


def test_per_rep_fan_out(tmp_path):
    with smtp_server(tmp_path) as (inbox, port, ca):
        proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", "head@example.com",
                       "--per-rep", env=_env(port, ca))
        assert proc.returncode == 0, proc.stderr
    recipients = [rcpt for rcpt, _ in inbox.messages]
    assert recipients[0] == ["head@example.com"]
    assert all(len(r) == 1 for r in recipients[1:])  # one mail per rep, to that rep only
    assert {"elena.berg@example.com", "farid.costa@example.com", "marta.berg@example.com"} <= {
        r[0] for r in recipients[1:]}
    mail = email.message_from_bytes(inbox.messages[1][1], policy=policy.default)
    assert mail.get_content_type() == "multipart/alternative"  # a text part, and HTML beside it
    assert mail.get_body(("plain",)) is not None
    own = mail.get_body(("html",)).get_content()
    names = ["Elena Berg", "Farid Costa", "Marta Berg"]
    assert sum(name in own for name in names) == 1  # each rep sees only their own column (and the team's)


def test_refused_login_exits_3_without_showing_the_password(tmp_path):
    with smtp_server(tmp_path) as (inbox, port, ca):
        proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", "head@example.com",
                       env=_env(port, ca, password="wrong-password-123"))
    assert proc.returncode == 3
    assert "refused the login" in proc.stderr and "Nothing was sent" in proc.stderr
    assert "wrong-password-123" not in proc.stderr + proc.stdout
    assert inbox.messages == []


def test_a_password_with_non_ascii_letters_logs_in(tmp_path):
    """AUTH PLAIN carries UTF-8 (RFC 4616); smtplib's ASCII encoding used to fail before the server saw it."""
    password = "pässwörd-Ünïcode-密码"
    with smtp_server(tmp_path, password=password) as (inbox, port, ca):
        proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", "head@example.com",
                       env=_env(port, ca, password=password))
    assert proc.returncode == 0, proc.stderr
    assert len(inbox.messages) == 1


def test_verbose_keeps_the_exit_code_of_a_delivery_failure_and_hides_the_password(tmp_path):
    with smtp_server(tmp_path) as (inbox, port, ca):
        proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", "head@example.com",
                       "--verbose", env=_env(port, ca, password="wrong-pässword-123"))
    assert proc.returncode == 3 and inbox.messages == []
    assert "Traceback" in proc.stderr and "refused the login" in proc.stderr
    assert "pässword" not in proc.stderr + proc.stdout and "p\\xe4" not in proc.stderr


def test_connection_refused_exits_3(tmp_path):
    proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", "head@example.com",
                   env=_env(free_port(), tmp_path / "none.pem"))
    assert proc.returncode == 3
    assert "Could not reach the SMTP server 127.0.0.1" in proc.stderr and "Traceback" not in proc.stderr


def test_a_quiet_day_still_gives_a_short_clear_mail_and_a_day_outside_the_data_none():
    proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2026-01-04", "--email", "head@example.com",
                   "--dry-run", "--quiet")  # a Sunday with few actions
    assert proc.returncode == 0, proc.stderr
    assert "Subject: Daily sales report — Sun 04 Jan 2026" in proc.stdout
    assert "\nSales actions " in proc.stdout
    # a day the data has nothing of is an error for the cron log, not a mail of zeros
    proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2020-01-06", "--email", "head@example.com",
                   "--dry-run", "--quiet")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "The data runs from 2024-11-22 to 2026-11-22" in proc.stderr


def test_sends_over_implicit_tls(tmp_path):
    with smtp_server(tmp_path, implicit_tls=True) as (inbox, port, ca):
        env = {**_env(port, ca), "SALESREPORT_SMTP_SECURITY": "ssl"}
        proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", "head@example.com",
                       env=env)
        assert proc.returncode == 0, proc.stderr
    assert [rcpt for rcpt, _ in inbox.messages] == [["head@example.com"]]


@pytest.mark.parametrize("address", ["head@example.com\r\nBcc: spy@evil.example", "a@example.com, spy@evil.example"])
def test_email_option_takes_one_address(address):
    proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", address, "--dry-run")
    assert proc.returncode == 2  # a usage error
    assert "--email" in proc.stderr and "is not one e-mail address" in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr


def test_a_rep_whose_address_is_not_one_is_skipped_the_others_get_mail(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("deals", "stage_history", "activities"):
        (folder / f"{name}.csv").write_bytes((SAMPLE / f"{name}.csv").read_bytes())
    (folder / "salesreport.toml").write_bytes((SAMPLE / "salesreport.toml").read_bytes())
    reps = (SAMPLE / "reps.csv").read_text(encoding="utf-8").splitlines()
    header, first, *rest = reps
    column = header.split(",").index("email")
    cells = first.split(",")
    victim, cells[column] = cells[0], "elena@example.com; spy@evil.example"
    (folder / "reps.csv").write_text("\n".join([header, ",".join(cells), *rest]) + "\n", encoding="utf-8")
    proc = run_cli("daily", "--data", str(folder), "--date", "2026-11-18", "--per-rep", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stderr.split())
    assert 'reps.csv, row 2, column "email": "elena@example.com; spy@evil.example" is not one e-mail address' in said
    assert f"{victim} gets no mail" in said
    recipients = [line for line in proc.stdout.splitlines() if line.startswith("To: ")]
    assert recipients and not any("spy@" in line or "elena" in line for line in recipients)  # the others' mail only



def test_a_reps_daily_mail_counts_that_reps_figures_of_the_day():
    from salesreport.api import load_facts
    from salesreport.outputs.mail import for_rep, subject_for
    from salesreport.periods import parse_day
    from salesreport.report.build import build_report

    doc = json.loads(run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--format", "json").stdout)
    rep, block = next((n, b) for n, b in doc["by_rep"].items() if b["role"] == "SDR")
    day = block["metrics"]["actions_per_day_sdr"]
    assert day["target"] == 30 and day["status"] in ("good", "warn", "bad")  # each SDR's actions vs 30 a day
    config, facts = load_facts(str(SAMPLE), None, None)
    report = build_report("daily", facts, config, parse_day("2026-11-18", config))
    assert subject_for(for_rep(report, rep), "{on_target} of {rated}") == f"{int(day['status'] == 'good')} of 1"


def test_data_warnings_go_to_the_cron_log_not_into_every_mail(tmp_path):
    args = ("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", "head@example.com", "--per-rep")
    proc = run_cli(*args, "--dry-run-dir", str(tmp_path / "plain"))
    assert proc.returncode == 0, proc.stderr
    assert "moves backwards" in proc.stderr  # the person who set up the job sees it
    texts, pages = _mails(proc.stdout), sorted((tmp_path / "plain").iterdir())
    assert len(texts) == len(pages) > 1
    assert not any("moves backwards" in body for body in texts + [p.read_text() for p in pages])
    proc = run_cli(*args, "--warnings-in-mail", "--dry-run-dir", str(tmp_path / "warned"))
    pages = sorted((tmp_path / "warned").iterdir())
    assert all("moves backwards" in body for body in _mails(proc.stdout) + [p.read_text() for p in pages])


def _mails(dry_run: str) -> list[str]:
    """Each mail's part of what --dry-run printed (headers and text part)."""
    return [part for part in dry_run.split("=" * 30 + " mail ")[1:]]


def test_a_dry_run_folder_that_cannot_be_made_is_a_clear_error(tmp_path):
    (tmp_path / "a-file").write_text("x")
    proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", "head@example.com",
                   "--dry-run-dir", str(tmp_path / "a-file" / "preview"), "--quiet")
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "--dry-run-dir" in proc.stderr and "cannot make the folder" in proc.stderr
