"""What every preset shares: the Preset record, the reader helpers and vectorised text helpers."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...errors import InputError
from ..parse import parse_datetimes

Tables = dict[str, pd.DataFrame]
HeaderSets = tuple[frozenset[str], ...]


@dataclass(frozen=True)
class Preset:
    """A CRM's export layout.

    `files` names the files each role comes in (lower-case stems, in a folder); a file whose stem says nothing
    is recognised by `headers` (any one set of lower-case headers, all present). A single file given with
    --data is the `main` role. `build` turns the raw text tables into canonical text tables.
    """

    name: str
    title: str
    files: dict[str, tuple[str, ...]]
    headers: dict[str, HeaderSets]
    main: str
    table_roles: dict[str, tuple[str, ...]]  # canonical table → the roles whose files it comes from (messages)
    build: Callable[[Tables, PresetReader, list[str]], Tables]
    stage_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lost_names: tuple[str, ...] = ()
    activity_names: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def role_of(self, headers: list[str]) -> str | None:
        """The role a file plays, judged by its headers (None: not one of this preset's files)."""
        found = {h.strip().lower() for h in headers}
        return next((role for role, sets in self.headers.items() if any(s <= found for s in sets)), None)


class PresetReader:
    """What a build needs besides the tables: file names for messages, the date order and [plan] rates."""

    def __init__(self, files: dict[str, str], dayfirst: bool | None, rates: dict[str, float] | None = None,
                 serials: bool = False, warnings: list[str] | None = None, formats: tuple[str, ...] = ()):
        self.files, self.dayfirst, self.rates, self.serials = files, dayfirst, rates or {}, serials
        self.warnings = warnings  # where placeholder dates (9999-12-31) are reported
        self.formats = formats  # [input] date_format

    def utc(self, df: pd.DataFrame, column: str, role: str) -> pd.Series:
        """An export timestamp written in UTC without a zone (Salesforce: GMT) → ISO text with "Z"."""
        if column not in df:
            return pd.Series("", index=df.index)
        moment = parse_datetimes(df[column].fillna("").astype(str), source=self.files.get(role, role),
                                 column=column, tz="UTC", dayfirst=self.dayfirst, serials=self.serials,
                                 warnings=self.warnings, formats=self.formats)
        return moment.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")

    def moments(self, values: pd.Series, column: str, role: str) -> pd.Series:
        """Wall-clock datetimes of a text column (to compare or combine before the common parsing)."""
        return parse_datetimes(values, source=self.files.get(role, role), column=column, tz="UTC",
                               dayfirst=self.dayfirst, serials=self.serials, warnings=self.warnings,
                               formats=self.formats)

    def require(self, df: pd.DataFrame, role: str, labels: dict[str, tuple[str, ...]], what: str) -> None:
        """Stop with the file's name and headers when a column the preset cannot do without is absent."""
        missing = [names for names in labels.values() if find(df, *names) is None]
        if missing:
            wanted = ", ".join(f'"{names[0]}"' for names in missing)
            headers = [str(c) for c in df.columns]
            close = [c for names in missing if (c := _closest(names, headers))]
            hint = f" The closest header: {', '.join(f'{c!r}' for c in close)}." if close else ""
            raise InputError(
                f"{self.files.get(role, role)}: this {what} has no column {wanted} "
                f"(found: {', '.join(headers[:15])}{' …' if len(headers) > 15 else ''}).{hint} Export it "
                "again with those columns shown, or use the canonical layout with [columns.deals]."
            )


def _closest(names: tuple[str, ...], headers: list[str]) -> str | None:
    """The header most like one of `names`: among those starting with the same word if any, else by difflib."""
    first = {n.split()[0].lower() for n in names if n.split()}
    same_word = [h for h in headers if h.split() and h.split()[0].lower() in first]
    if same_word:
        return max(same_word, key=lambda h: max(difflib.SequenceMatcher(None, n, h).ratio() for n in names))
    return next(iter(difflib.get_close_matches(names[0], headers, n=1, cutoff=0.6)), None)


def find(df: pd.DataFrame, *names: str) -> str | None:
    """The first of `names` present as a header, whatever its case and surrounding spaces."""
    by_lower = {str(c).strip().lower(): c for c in df.columns}
    return next((by_lower[n.lower()] for n in names if n.lower() in by_lower), None)


def text(df: pd.DataFrame, *names: str) -> pd.Series:
    """The first present column of `names` as stripped text ("" when none is present)."""
    column = find(df, *names)
    if column is None:
        return pd.Series("", index=df.index)
    values = df[column]
    if isinstance(values, pd.DataFrame):  # a repeated header: the first one
        values = values.iloc[:, 0]
    return values.fillna("").astype(str).str.strip()


def frame(columns: dict[str, pd.Series | str]) -> pd.DataFrame:
    """A canonical text table that remembers which export header each column came from (a Series keeps its
    header as its name), so a bad cell is reported under the header the user sees."""
    out = pd.DataFrame(columns)
    out.attrs["headers"] = {k: v.name for k, v in columns.items() if isinstance(v, pd.Series) and isinstance(v.name, str)}
    return out


def stage_changes(entries: pd.DataFrame, when: pd.Series) -> pd.DataFrame:
    """History exports write a row on any change of amount, date, probability or stage: keep each deal's
    first row and every row whose stage differs from the deal's row before it (in time order)."""
    order = pd.DataFrame({"deal_id": entries["deal_id"], "when": when, "n": np.arange(len(entries))},
                         index=entries.index).sort_values(["deal_id", "when", "n"], kind="stable")
    stage = entries["stage"].reindex(order.index)
    changed = (stage != stage.groupby(order["deal_id"]).shift()) & (stage != "")
    kept = entries.loc[changed[changed].index]
    kept.attrs = dict(entries.attrs)
    return kept


def first_filled(df: pd.DataFrame, *names: str) -> pd.Series:
    """Row by row, the first non-empty cell among the present columns `names` (a status kept in one column
    per activity kind, say)."""
    out = pd.Series("", index=df.index)
    for name in names:
        if find(df, name) is not None:
            out = out.where(out != "", text(df, name))
    return out


def truthy(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip().str.lower().isin(["1", "true", "yes", "y", "x", "да"])


def date_only(values: pd.Series) -> pd.Series:
    """A date field exported with a midnight time ("2023-05-11 00:00:00", "…T00:00:00.000Z") → the date."""
    values = values.fillna("").astype(str).str.strip()
    return values.str.replace(r"[ T]00:00:00(?:\.0+)?Z?$", "", regex=True)


def fold(values: pd.Series) -> pd.Series:
    """Lower case without accents: "Reunión" → "reunion"."""
    return values.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.lower()


def derived_history_warning(crm: str, how: str) -> str:
    return (f"{crm}'s deals export has no stage history: {how}, so conversions, stage days and the sales cycle "
            "are approximations.")
