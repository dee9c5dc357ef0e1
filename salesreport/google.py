"""Google Sheets access shared by reading (sources) and pushing (outputs): addresses, credentials, the
gspread client with a bounded backoff, and API failures worded as one clear paragraph.

Transient answers (429, 5xx, a dropped connection) are retried with a bounded exponential backoff.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import gspread
import requests
from gspread.exceptions import APIError, NoValidUrlKeyFound, SpreadsheetNotFound
from gspread.http_client import HTTPClient
from gspread.utils import extract_id_from_url

from .config import Config
from .errors import ConfigError, SalesReportError

PREFIX = "gsheet:"
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)  # nothing else: no Drive, no profile
RETRY_CODES = {408, 429, 500, 502, 503, 504}


# --- where and who -------------------------------------------------------------------------------

def spreadsheet_key(target: str) -> str:
    """The key of `gsheet:KEY`, `gsheet:https://docs.google.com/spreadsheets/d/KEY/edit`, or a bare key/URL."""
    text = target.removeprefix(PREFIX).strip()
    if "/" in text:
        try:
            return extract_id_from_url(text)
        except NoValidUrlKeyFound:
            raise ConfigError(
                f'"{target}" is not a Google Sheets address. Use gsheet:KEY, where KEY is the part of the '
                "sheet's URL between /d/ and /edit."
            ) from None
    if not re.fullmatch(r"[A-Za-z0-9_-]{10,}", text):
        raise ConfigError(
            f'"{target}" does not name a Google Sheet. Use gsheet:KEY, where KEY is the part of the sheet\'s '
            "URL between /d/ and /edit."
        )
    return text


@dataclass(frozen=True)
class Account:
    credentials: object
    who: str  # the e-mail to share the sheet with, or a description of the account


def load_account(path: Path | None) -> Account:
    """Service-account or authorized-user JSON from `path`, else Application Default Credentials."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account

    if path is None:
        try:
            creds, _project = google.auth.default(scopes=list(SCOPES))
        except DefaultCredentialsError:
            raise ConfigError(
                "No Google credentials. Pass --credentials KEY.json (a service-account or authorized-user "
                "JSON), set [google] credentials = \"KEY.json\" in salesreport.toml, or set "
                "GOOGLE_APPLICATION_CREDENTIALS to the file's path."
            ) from None
        email = getattr(creds, "service_account_email", None)
        return Account(creds, email or "the account of your Application Default Credentials")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: the Google credentials file cannot be read ({exc.strerror}).") from None
    except (ValueError, UnicodeDecodeError):
        raise ConfigError(f"{path}: not a JSON credentials file. Download the key again from Google Cloud.") from None
    kind = info.get("type") if isinstance(info, dict) else None
    try:
        if kind == "service_account":
            creds = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
            return Account(creds, info.get("client_email", "the service account"))
        if kind == "authorized_user":
            creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=list(SCOPES))
            return Account(creds, info.get("account") or "the Google user who authorized this file")
    except (ValueError, KeyError):  # never echo the file: it holds a private key
        raise ConfigError(
            f"{path}: the {kind} credentials are incomplete or their private key is unreadable. "
            "Download a new key file from Google Cloud."
        ) from None
    raise ConfigError(
        f'{path}: credentials of type "{kind}" are not supported; use a service-account key '
        '("type": "service_account") or an authorized-user file ("type": "authorized_user").'
    )


def credentials_path(explicit: Path | None, config: Config) -> Path | None:
    return explicit if explicit is not None else config.google_credentials


class BoundedBackoffClient(HTTPClient):
    """gspread's HTTP client with a bounded exponential backoff on 408/429/5xx and dropped connections."""

    retries = 5
    backoff = 1.0
    max_wait = 64.0

    def request(self, *args, **kwargs):
        for attempt in range(self.retries + 1):
            try:
                return super().request(*args, **kwargs)
            except APIError as err:
                if err.response.status_code not in RETRY_CODES or attempt == self.retries:
                    raise
                time.sleep(self._wait(attempt, err.response.headers.get("Retry-After")))
            except (requests.ConnectionError, requests.Timeout):
                if attempt == self.retries:
                    raise
                time.sleep(self._wait(attempt, None))
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), self.max_wait)
        return min(self.backoff * 2**attempt, self.max_wait)


def open_client(account: Account, config: Config) -> gspread.Client:
    """The one place a gspread client is made: bounded retries, timeouts, spreadsheets scope."""
    client = gspread.Client(auth=account.credentials, http_client=BoundedBackoffClient)
    client.http_client.retries = config.google_retries
    client.http_client.backoff = config.google_backoff
    client.set_timeout((10, 120))
    return client


@contextmanager
def api_errors(key: str, account: Account, config: Config, error: type[SalesReportError],
               unchanged: str = "") -> Iterator[None]:
    """Turn gspread / google-auth / network failures into one clear paragraph (never a token or key)."""
    from google.auth.exceptions import RefreshError, TransportError

    tail = f" {unchanged}" if unchanged else ""
    try:
        yield
    except SpreadsheetNotFound:
        raise error(_not_found(key) + tail) from None
    except PermissionError:  # gspread's open_by_key turns a 403 into this built-in
        raise error(_forbidden(key, account) + tail) from None
    except APIError as err:
        code = err.response.status_code
        if code == 404:
            raise error(_not_found(key) + tail) from None
        if code == 403:
            raise error(_forbidden(key, account) + tail) from None
        message = str(err.error.get("message", "")) if isinstance(err.error, dict) else ""
        if code in RETRY_CODES:
            raise error(
                f"Google Sheets kept answering {code} ({message or 'busy'}) for spreadsheet {key}; gave up after "
                f"{config.google_retries} retries.{tail} Run again in a few minutes (quotas reset every minute), "
                "or raise [google] retries."
            ) from None
        raise error(f"Google Sheets refused a request for spreadsheet {key} ({code}: {message}).{tail}") from None
    except RefreshError as err:
        reason = str(err.args[0]) if err.args else "refused"
        raise error(
            f"Google refused the credentials of {account.who} ({reason[:200]}). Check that the key file is "
            f"current (not deleted in Google Cloud) and that this machine's clock is right.{tail}"
        ) from None
    except (requests.ConnectionError, requests.Timeout, TransportError) as err:
        raise error(
            f"Cannot reach Google Sheets ({type(err).__name__}) after {config.google_retries} retries.{tail} "
            "Check the network or proxy settings (HTTPS_PROXY) and run again."
        ) from None


def _not_found(key: str) -> str:
    return (f"Spreadsheet {key} was not found (404): the key is wrong. Copy it from the sheet's address, "
            "https://docs.google.com/spreadsheets/d/KEY/edit, and pass gsheet:KEY.")


def _forbidden(key: str, account: Account) -> str:
    return (f"Google Sheets denied access to spreadsheet {key} (403). Share the spreadsheet with {account.who} "
            "(Editor to push reports, Viewer to read data), then run again.")
