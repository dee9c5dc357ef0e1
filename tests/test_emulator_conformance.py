"""The emulator answers as Google did: replay gspread's recorded real-API interactions and compare.

The cassettes (../shared/datasets/gspread-cassettes, MIT, recorded by gspread's maintainers against the real
Sheets API v4) are read in place. Drive calls (create / delete spreadsheet) become a seeded spreadsheet.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from .sheets_emulator import Emulator, Server

CASSETTES = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "gspread-cassettes"
ACCOUNT = "recorder@example.iam.gserviceaccount.com"
FILES = sorted(CASSETTES.glob("*.json")) if CASSETTES.is_dir() else []


def _normalise(body: dict) -> dict:
    """Keep what the recorded answer fixes: shapes, ranges, values, titles, grid sizes; not random ids."""
    if "sheets" in body and "properties" in body:  # spreadsheets.get metadata
        return {"sheets": [{k: v for k, v in s["properties"].items() if k != "sheetId"} for s in body["sheets"]]}
    if "replies" in body:
        return {"replies": [_reply(r) for r in body["replies"]]}
    return body


def _reply(reply: dict) -> dict:
    return {kind: {"properties": {k: v for k, v in value["properties"].items() if k != "sheetId"}}
            for kind, value in reply.items()}


@pytest.mark.skipif(not FILES, reason="the shared data sets are not beside this clone")
@pytest.mark.parametrize("cassette", FILES, ids=[f.stem for f in FILES])
def test_replayed_google_answers_match(cassette):
    emulator = Emulator()
    server = Server(emulator, None)
    token = emulator._issue(ACCOUNT)["access_token"]
    ids: dict[int, int] = {}
    compared = 0
    try:
        for interaction in json.loads(cassette.read_text())["interactions"]:
            request, response = interaction["request"], interaction["response"]
            uri = request["uri"]
            if "/drive/v3/files" in uri:
                if request["method"] == "POST":
                    key = json.loads(response["body"]["string"])["id"]
                    emulator.add_spreadsheet(key, share_with=[ACCOUNT])
                continue
            body = request["body"] or ""
            for recorded, ours in ids.items():
                body = re.sub(rf'"sheetId": {recorded}\b', f'"sheetId": {ours}', body)
            answer = requests.request(
                request["method"], uri.replace("https://sheets.googleapis.com", f"http://127.0.0.1:{server.port}"),
                data=body.encode() if body else None, timeout=10,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            assert answer.status_code == response["status"]["code"], (uri, answer.text)
            expected = json.loads(response["body"]["string"]) if response["body"]["string"] else {}
            got = answer.json() if answer.text else {}
            for mine, theirs in zip(got.get("replies", []), expected.get("replies", []), strict=False):
                if "addSheet" in theirs:
                    ids[theirs["addSheet"]["properties"]["sheetId"]] = mine["addSheet"]["properties"]["sheetId"]
            assert _normalise(got) == _normalise(expected), (request["method"], uri, body)
            compared += 1
    finally:
        server.stop()
    assert compared > 0
