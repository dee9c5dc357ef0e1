"""XLSX input that would expand past memory: a sheet with a stray cell in column XFD on every row is read only
as wide as its header; a workbook that unpacks to gigabytes, a header thousands of columns wide and XML entity
expansion (defusedxml) are refused before they are read, with a clear message."""

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


def test_a_stray_cell_in_column_xfd_on_every_row_is_read_past(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "deals"
    ws.append(["deal_id", "created_at", "company", None])  # a trailing blank header cell is no column
    for i in range(3000):  # 16,384 columns on every row, were they materialised: 49M cells
        ws.append([f"D{i}", "2026-03-01", "Acme"])
        ws.cell(row=i + 2, column=16384, value="x")
    wb.save(tmp_path / "wide.xlsx")
    ds = load_dataset(str(tmp_path / "wide.xlsx"), Config())
    assert len(ds.deals) == 3000 and ds.deals["deal_id"].iloc[-1] == "D2999"


def test_a_header_thousands_of_columns_wide_is_refused(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "deals"
    wb.active.append(["deal_id", "created_at"] + [f"x{i}" for i in range(2000)])
    wb.save(tmp_path / "wide.xlsx")
    with pytest.raises(InputError, match=r"wide.xlsx \[deals\]: the header row has 2,002 columns, more than the 1,000"):
        load_dataset(str(tmp_path / "wide.xlsx"), Config())


def test_a_repeated_header_in_a_sheet_is_an_error_as_in_a_csv(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "deals"
    wb.active.append(["deal_id", "created_at", "amount", "amount"])  # read_excel would make it "amount.1"
    wb.active.append(["D1", "2026-03-01", None, 500])
    wb.save(tmp_path / "twice.xlsx")
    with pytest.raises(InputError, match=r'the header "amount" stands over 2 columns \(columns 3, 4\)'):
        load_dataset(str(tmp_path / "twice.xlsx"), Config())


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
