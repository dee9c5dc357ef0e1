"""One amount column in several currencies: refused without [plan] rates, converted with them."""

from __future__ import annotations

import pytest

from salesreport.config import parse_config
from salesreport.errors import ConfigError, InputError
from salesreport.sources.canonical import load_dataset

SYMBOLS = 'deal_id,created_at,amount\nD1,2026-01-05,"$1,234.50"\nD2,2026-01-06,"1.234,50 €"\nD3,2026-01-07,"$100"\n'
CODES = "deal_id,created_at,amount,currency\nD1,2026-01-05,1000,usd\nD2,2026-01-06,1000,EUR\nD3,2026-01-07,5000,RUB\n"


def deals(tmp_path, text: str, **config):
    (tmp_path / "deals.csv").write_text(text, encoding="utf-8")
    return load_dataset(str(tmp_path), parse_config(config)).deals.set_index("deal_id")


def test_symbols_of_two_currencies_are_refused_naming_both_and_the_setting(tmp_path):
    with pytest.raises(InputError) as err:
        deals(tmp_path, SYMBOLS)
    message = str(err.value)
    for words in ('deals.csv, column "amount"', "USD (2 deals)", "EUR (1 deals)", '[plan] currency = "USD"',
                  "rates = { EUR = <value of 1 EUR in USD> }"):
        assert words in message


def test_rates_convert_into_the_plan_currency(tmp_path):
    got = deals(tmp_path, SYMBOLS, plan={"currency": "USD", "rates": {"EUR": 1.1}})
    assert got["amount"].to_dict() == pytest.approx({"D1": 1234.5, "D2": 1357.95, "D3": 100.0})


def test_a_currency_column_wins_over_symbols_and_every_code_needs_a_rate(tmp_path):
    with pytest.raises(InputError, match=r"RUB = <value of 1 RUB in USD>") as err:
        deals(tmp_path, CODES, plan={"currency": "USD", "rates": {"EUR": 1.1}})
    assert "EUR = " not in str(err.value)
    got = deals(tmp_path, CODES, plan={"currency": "usd", "rates": {"eur": 1.1, "RUB": 0.01}})
    assert got["amount"].to_dict() == pytest.approx({"D1": 1000.0, "D2": 1100.0, "D3": 50.0})


def test_one_foreign_currency_without_a_rate_is_kept_with_a_warning(tmp_path):
    (tmp_path / "deals.csv").write_text('deal_id,created_at,amount\nD1,2026-01-05,"1 234,50 ₽"\n', encoding="utf-8")
    ds = load_dataset(str(tmp_path), parse_config({"plan": {"currency": "EUR"}}))
    assert ds.deals["amount"].tolist() == [1234.5]
    assert any("in RUB, the plan in EUR" in w for w in ds.warnings)
    same = load_dataset(str(tmp_path), parse_config({"plan": {"currency": "RUB"}}))
    assert same.warnings == []


def test_rates_need_a_plan_currency_and_positive_values():
    with pytest.raises(ConfigError, match=r"\[plan\] rates need \[plan\] currency"):
        parse_config({"plan": {"rates": {"EUR": 1.1}}})
    with pytest.raises(ConfigError, match="positive"):
        parse_config({"plan": {"currency": "USD", "rates": {"EUR": 0}}})
