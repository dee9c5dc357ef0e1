"""The value parsers turn any string into a value or our own InputError — never another exception."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from salesreport.errors import InputError
from salesreport.ingest.parse import parse_amounts, parse_booleans, parse_datetimes

texts = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30), min_size=1, max_size=5)
date_like = st.lists(st.from_regex(r"\d{1,4}[-./]\d{1,2}[-./]\d{1,4}( \d{1,2}:\d{2}(:\d{2})?)?( ?[AP]M)?(Z|[+-]\d{2}:\d{2})?",
                                   fullmatch=True), min_size=1, max_size=5)
money_like = st.lists(st.from_regex(r"[($€-]?\d{0,3}([ ,.]\d{3})*([.,]\d{1,2})? ?(₽|€|USD)?\)?", fullmatch=True),
                      min_size=1, max_size=5)


def _only_input_errors(parse, values, **kw):
    try:
        parse(pd.Series(values, dtype=object), source="x.csv", column="c", **kw)
    except InputError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, date_like))
def test_dates_parse_or_raise_input_error(values):
    _only_input_errors(parse_datetimes, values, tz="Europe/Moscow", dayfirst=None)


@settings(max_examples=300, deadline=None)
@given(st.one_of(texts, money_like))
def test_amounts_parse_or_raise_input_error(values):
    _only_input_errors(parse_amounts, values)


@settings(max_examples=100, deadline=None)
@given(texts)
def test_booleans_parse_or_raise_input_error(values):
    _only_input_errors(parse_booleans, values, default=True)
