"""The value parsers turn any string into a value or our own InputError — never another exception."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from salesreport.errors import InputError
from salesreport.sources.parse import parse_amounts, parse_booleans, parse_datetimes

texts = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30), min_size=1, max_size=5)
date_like = st.lists(st.from_regex(r"\d{1,4}[-./]\d{1,2}[-./]\d{1,4}( \d{1,2}:\d{2}(:\d{2})?)?( ?[AP]M)?(Z|[+-]\d{2}:\d{2})?",
                                   fullmatch=True), min_size=1, max_size=5)
named_like = st.lists(st.from_regex(r"([A-Z][a-z]{2,8}\.? \d{1,2},? \d{4}|\d{1,2} [A-Za-z]{3,9} \d{4})( \d{1,2}:\d{2}( ?[AP]M)?)?",
                                    fullmatch=True), min_size=1, max_size=5)
serial_like = st.lists(st.one_of(st.from_regex(r"\d{1,8}(\.\d{0,6})?", fullmatch=True),
                                 st.floats(allow_nan=True, allow_infinity=True).map(str)), min_size=1, max_size=5)
money_like = st.lists(st.from_regex(r"[($€-]?\d{0,3}([ ,.]\d{3})*([.,]\d{1,2})? ?(₽|€|USD)?\)?", fullmatch=True),
                      min_size=1, max_size=5)


def _parse_or_input_error(parse, values, dtype: str, **kw):
    """A parse either raises our InputError or returns one typed value per input, in the input's order."""
    series = pd.Series(values, dtype=object)
    try:
        result = parse(series, source="x.csv", column="c", **kw)
    except InputError as exc:
        assert 'x.csv' in str(exc) and '"c"' in str(exc)  # the message names file and column
        return
    assert len(result) == len(series) and list(result.index) == list(series.index)
    assert str(result.dtype) == dtype
    blank = series.astype(str).str.strip() == ""
    if dtype != "bool":
        assert result[blank].isna().all()  # an empty cell is unknown, never 0


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, date_like))
def test_dates_parse_or_raise_input_error(values):
    _parse_or_input_error(parse_datetimes, values, "datetime64[ns]", tz="Europe/Moscow", dayfirst=None)


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, named_like, serial_like))
def test_workbook_dates_with_serials_parse_or_raise_input_error(values):
    _parse_or_input_error(parse_datetimes, values, "datetime64[ns]", tz="UTC", dayfirst=True, serials=True)


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, money_like))
def test_amounts_parse_or_raise_input_error(values):
    _parse_or_input_error(parse_amounts, values, "float64")


@settings(max_examples=100, deadline=None)
@given(texts)
def test_booleans_parse_or_raise_input_error(values):
    _parse_or_input_error(parse_booleans, values, "bool", default=True)


def test_serials_across_the_whole_range_of_timestamps():
    values = pd.Series(["1", "46027.75", "120000.5", "132319.99"])
    got = parse_datetimes(values, source="x.xlsx", column="c", tz="UTC", dayfirst=None, serials=True)
    assert list(got) == [pd.Timestamp("1899-12-31"), pd.Timestamp("2026-01-05 18:00"),
                         pd.Timestamp("2228-07-18 12:00"), pd.Timestamp("2262-04-10 23:45:36")]
