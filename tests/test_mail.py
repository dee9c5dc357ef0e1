"""E-mail: message structure (--dry-run), subject, escaping, per-rep fan-out; settings never leak secrets."""

from __future__ import annotations

import email
from email import policy

import pytest

from salesreport.config import Config, parse_config
from salesreport.errors import ConfigError
from salesreport.mail import smtp_settings

from .test_outputs import SAMPLE, run_cli


def test_dry_run_prints_a_multipart_alternative_mail():
    proc = run_cli("daily", "--data", str(SAMPLE), "--date", "2026-11-18", "--email", "head@example.com",
                   "--dry-run", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --quiet
    msg = email.message_from_string(proc.stdout, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["To"] == "head@example.com"
    assert str(msg["Subject"]).startswith("Daily sales report — Wed 18 Nov 2026 — ")
    assert str(msg["Subject"]).endswith(" on target")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Sales actions" in text and "<table" in html and "Sales actions" in html


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
