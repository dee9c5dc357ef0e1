"""The `google` fixture: a Sheets API emulator reached through an HTTPS proxy with a test CA.

The command line runs as a subprocess with HTTPS_PROXY and REQUESTS_CA_BUNDLE pointing at the emulator,
so the product's own gspread / google-auth / requests code makes real HTTPS requests with no test hooks.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from salesreport.sample import generate

from .sheets_emulator import GOOGLE_HOSTS, TOKEN_URI, Emulator, Server

ROOT = Path(__file__).resolve().parents[1]
NETGUARD = Path(__file__).parent / "netguard"
ACCOUNT = "salesreport-bot@acme-reports.iam.gserviceaccount.com"
KEY = "1TestSpreadsheetKey_abcdefghijklmnopqrstu"


@dataclass
class Google:
    emulator: Emulator
    env: dict[str, str]
    key_file: Path
    private_key_pem: str
    tmp: Path
    data: Path  # a small generated data set whose salesreport.toml retries fast

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "salesreport", *args], capture_output=True, text=True,
                              cwd=self.tmp, env={**self.env, **(env or {})}, check=False, timeout=300)


@pytest.fixture(scope="session")
def _tls(tmp_path_factory):
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("ca")
    bundle = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*GOOGLE_HOSTS).configure_cert(context)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return bundle, context, key


@pytest.fixture
def google(_tls, tmp_path):
    bundle, context, key = _tls
    emulator = Emulator()
    emulator.accounts[ACCOUNT] = key.public_key()
    server = Server(emulator, context)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": "acme-reports", "private_key_id": "test-key-1",
        "private_key": pem, "client_email": ACCOUNT, "client_id": "1234567890", "token_uri": TOKEN_URI,
    }))
    env = {k: v for k, v in os.environ.items()
           if k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "GOOGLE_APPLICATION_CREDENTIALS",
                                "CURL_CA_BUNDLE", "SSL_CERT_FILE")}
    env.update(HTTPS_PROXY=f"http://127.0.0.1:{server.port}", REQUESTS_CA_BUNDLE=str(bundle),
               PYTHONPATH=os.pathsep.join([str(NETGUARD), str(ROOT)]), COLUMNS="80")
    data = tmp_path / "data"
    generate(data, deals=300, seed=3, end=date(2026, 11, 22))
    with (data / "salesreport.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[google]\nretries = 3\nbackoff_seconds = 0.01\n")
    yield Google(emulator, env, key_file, pem, tmp_path, data)
    server.stop()
