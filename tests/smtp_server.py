"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with STARTTLS (trustme certificate) and AUTH."""

from __future__ import annotations

import socket
import ssl
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "reports@example.com", "correct horse battery staple"


@dataclass
class Inbox:
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _authenticator(password: str):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode("utf-8"), auth_data.password.decode("utf-8")) == (USER, password)
        return AuthResult(success=ok, handled=False)  # the server itself answers 235 or 535
    return authenticate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(folder: Path, implicit_tls: bool = False, password: str = PASSWORD):
    """Yields (inbox, port, ca_file): trust ca_file (SSL_CERT_FILE) to talk TLS to it. STARTTLS is required,
    or with implicit_tls the whole connection is TLS (SMTPS)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = folder / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    inbox = Inbox()
    port = free_port()
    tls = {"ssl_context": context} if implicit_tls else {"tls_context": context, "require_starttls": True}
    # aiosmtpd's auth_require_tls looks at STARTTLS only; an SMTPS connection is TLS from the start
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_authenticator(password),
                            auth_require_tls=not implicit_tls, **tls)
    controller.start()
    try:
        yield inbox, port, ca_file
    finally:
        controller.stop()
