"""XLSX input that would expand past memory is refused before it is read, with a clear message: a sheet
that reaches column XFD, a workbook that unpacks to gigabytes, XML entity expansion (defusedxml)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from salesreport.config import Config
from salesreport.errors import InputError
from salesreport.sources.canonical import load_dataset


def workbook(path: Path, far_cell: str | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "deals"
    ws.append(["deal_id", "created_at", "company"])
    ws.append(["D1", "2026-03-01", "Acme"])
    if far_cell:
        ws[far_cell] = "x"
    wb.save(path)
    return path


def test_a_plain_workbook_is_read(tmp_path):
    ds = load_dataset(str(workbook(tmp_path / "ok.xlsx")), Config())
    assert list(ds.deals["deal_id"]) == ["D1"]


def test_a_sheet_reaching_column_xfd_is_refused(tmp_path):
    path = workbook(tmp_path / "wide.xlsx", far_cell="XFD3")
    with pytest.raises(InputError, match=r"wide.xlsx: a sheet reaches column XFD, more than 1,000 columns"):
        load_dataset(str(path), Config())


def test_a_workbook_that_unpacks_to_gigabytes_is_refused(tmp_path):
    path = workbook(tmp_path / "bomb.xlsx")
    with (zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
          archive.open("xl/media/padding.bin", "w", force_zip64=True) as entry):
        block = bytes(1 << 20)
        for _ in range(600):  # 600 MiB of zeros, a few hundred KiB on disk
            entry.write(block)
    assert path.stat().st_size < 5 << 20
    with pytest.raises(InputError, match=r"bomb.xlsx: the workbook unpacks to 600 MiB"):
        load_dataset(str(path), Config())


def test_xml_entity_expansion_is_refused(tmp_path):
    path = workbook(tmp_path / "laughs.xlsx")
    entities = ('<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    rewritten = tmp_path / "rewritten.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(rewritten, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                assert "Acme" in text
                body = text.split("?>", 1)[1] if text.startswith("<?xml") else text
                data = ('<?xml version="1.0" encoding="UTF-8"?>' + entities + body.replace("Acme", "&c;")).encode()
            target.writestr(item, data)
    with pytest.raises(InputError, match="not a readable XLSX workbook"):
        load_dataset(str(rewritten), Config())
