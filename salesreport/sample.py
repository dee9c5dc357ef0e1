"""`salesreport sample`: a realistic canonical data set, generated with vectorised numpy.

Two years of deals move through the funnel: SDRs work them up to demo_appointed, AEs take them from
demo_run (the hand-off), some stages are skipped, negative replies branch off, deals are lost at every
stage, a few qualified deals have no amount, history has amount-edit repeats and a few backward moves,
activities of every type (and non-actions) with and without UTC offsets.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DeliveryError
from .outputs.files import atomic_file, write_atomic

TIMEZONE = "Europe/Berlin"
CRM_NAMES = {
    "new": "New Lead", "work_started": "Work Started", "replied": "Replied",
    "replied_negative": "Not Interested", "replied_positive": "Interested",
    "demo_appointed": "Demo Appointed", "demo_run": "Demo Done", "qualified": "Qualified",
    "offer_sent": "Offer Sent", "signed": "Client Signed",
}
# furthest-stage chain: (stage, probability of reaching it from the previous, mean days to it)
CHAIN = [
    ("work_started", 0.93, 2.0), ("replied", 0.40, 6.0), ("replied_positive", 0.60, 3.0),
    ("demo_appointed", 0.85, 3.0), ("demo_run", 0.85, 6.0), ("qualified", 0.75, 8.0),
    ("offer_sent", 0.85, 10.0), ("signed", 0.55, 18.0),
]
FIRST = ["Anna", "Boris", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Irina", "Jonas", "Karin",
         "Liam", "Marta", "Nikolai", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tanya"]
LAST = ["Petrova", "Klein", "Martin", "Okafor", "Novak", "Rossi", "Silva", "Berg", "Larsen", "Duval",
        "Ivanova", "Moreau", "Fischer", "Costa", "Haas"]
COMPANIES_A = ["Nord", "Blue", "Bright", "Iron", "Green", "Swift", "Alpen", "Delta", "Polar", "Sun"]
COMPANIES_B = ["Logistics", "Foods", "Systems", "Retail", "Pharma", "Metals", "Media", "Energy", "Labs"]
LOST_REASONS = ["No budget", "Chose competitor", "No decision", "Bad timing", "Not a fit"]
COMPETITORS = ["Acme CRM Suite", "SalesPilot", "Funnelio"]

CONFIG = """# salesreport.toml for the generated sample data set
[sources]
deals = "deals.csv"
stage_history = "stage_history.csv"
activities = "activities.csv"
reps = "reps.csv"

[report]
timezone = "{tz}"
week_start = "monday"
working_days = ["mon", "tue", "wed", "thu", "fri"]
holidays = [{holidays}]

[plan]
annual = {plan}
currency = "EUR"

[funnel]
lost = ["Lost"]

[funnel.stages]
{stages}

[activity_types]
call = ["Call"]
email = ["E-mail"]
message = ["LinkedIn message"]
meeting = ["Meeting"]

[forecast]
method = "stage-weighted"
history_days = 365
"""


def _names(count: int, rng: np.random.Generator, offset: int) -> list[str]:
    pairs = [f"{f} {s}" for s in LAST for f in FIRST]
    rng.shuffle(pairs)
    names = pairs[offset:offset + count]
    extra = count - len(names)
    return names + [f"Rep {offset + len(names) + i + 1}" for i in range(extra)]


CHUNK = 1_000_000  # deals made and written at a time: 10 million deals need no more memory than one


def generate(out: Path, *, deals: int, seed: int, end: date, chunk: int = CHUNK) -> dict[str, int]:
    """Write deals.csv, stage_history.csv, activities.csv, reps.csv and salesreport.toml into `out`.

    Deals are made in chunks of `chunk`, each written as it is made (every file replaced atomically at the
    end); a data set of at most `chunk` deals is one chunk."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DeliveryError(f"{out}: cannot create the folder ({exc.strerror}).") from None
    rng = np.random.default_rng(seed)
    start = end - timedelta(days=730)
    n_sdr = max(3, round(deals / 1000))
    n_ae = max(2, round(n_sdr * 0.6))
    reps = _reps(rng, n_sdr, n_ae, start, end)
    counts = {"deals": 0, "stage_history": 0, "activities": 0}
    signed_total = 0.0
    with ExitStack() as files:
        handles = {name: files.enter_context(atomic_file(out / f"{name}.csv")) for name in counts}
        chunks = range(0, deals, chunk)
        for k, first in enumerate(chunks):  # each chunk has its share of the reps' prospecting actions
            tables, signed = _chunk(rng, min(chunk, deals - first), first, len(str(deals)) + 1, reps,
                                    reps.iloc[k::len(chunks)], start, end, counts["activities"])
            signed_total += signed
            for name, table in tables.items():
                handles[name].write(table.to_csv(index=False, header=first == 0).encode("utf-8"))
                counts[name] += len(table)
    reps_table = _reps_csv(reps)
    write_atomic(out / "reps.csv", reps_table.to_csv(index=False))
    counts["reps"] = len(reps_table)
    holidays = [f'"{d}"' for d in _holidays(start, end)]
    stages = "\n".join(f'{k} = ["{v}"]' for k, v in CRM_NAMES.items())
    plan = int(signed_total / 2 * 1.2 / 1000) * 1000 or 1_000_000
    write_atomic(out / "salesreport.toml", CONFIG.format(tz=TIMEZONE, holidays=", ".join(holidays),
                                                          plan=plan, stages=stages))
    return counts


def _chunk(rng, deals: int, first: int, width: int, reps: pd.DataFrame, prospecting: pd.DataFrame, start: date,
           end: date, first_activity: int) -> tuple[dict[str, pd.DataFrame], float]:
    """`deals` deals numbered from first + 1, their history and activities, the prospecting actions (tied to
    no deal) of the reps in `prospecting`, and the sum of the deals' signed amounts."""
    n_sdr, n_ae = (reps["role"] == "SDR").sum(), (reps["role"] == "AE").sum()
    end_ts = pd.Timestamp(end) + pd.Timedelta(hours=23, minutes=59)
    day_offset = pd.to_timedelta(rng.integers(0, 730, deals), unit="D")
    minute = pd.to_timedelta(rng.integers(8 * 60, 18 * 60, deals), unit="m")
    created = pd.DatetimeIndex(pd.Timestamp(start) + day_offset + minute)
    sdr_names = reps.loc[reps["role"] == "SDR", "name"].to_numpy()
    ae_names = reps.loc[reps["role"] == "AE", "name"].to_numpy()
    sdr_hire = reps.loc[reps["role"] == "SDR", "hire_date"].to_numpy(dtype="datetime64[ns]")
    sdr = rng.integers(0, n_sdr, deals)
    # a deal goes to an SDR who was hired by then (the first SDR was always there)
    sdr = np.where(sdr_hire[sdr] > created.to_numpy(), 0, sdr)
    # an AE takes deals created while employed (hand-offs come weeks later; the first AE was always there)
    ae_rows = reps[reps["role"] == "AE"]
    ae_hire = ae_rows["hire_date"].to_numpy(dtype="datetime64[ns]")
    ae_left = ae_rows["left_at"].to_numpy(dtype="datetime64[ns]")
    ae = rng.integers(0, n_ae, deals)
    employed = (ae_hire[ae] <= created.to_numpy()) & ~(ae_left[ae] <= created.to_numpy() + np.timedelta64(60, "D"))
    ae = np.where(employed, ae, 0)

    # --- furthest stage and entry times, one column per chain step
    n_steps = len(CHAIN)
    times = np.full((deals, n_steps), np.datetime64("NaT"), dtype="datetime64[ns]")
    alive = np.ones(deals, dtype=bool)
    t = created.to_numpy()
    negative = np.zeros(deals, dtype=bool)
    for k, (stage, p, mean_days) in enumerate(CHAIN):
        alive &= rng.random(deals) < p
        if stage == "replied":
            negative = alive & (rng.random(deals) < 0.30)
        if stage == "replied_positive":
            alive &= ~negative
        gap = rng.exponential(mean_days, deals) * 86400 + rng.integers(600, 6 * 3600, deals)
        t = t + gap.astype("timedelta64[s]")
        reached = alive & (t <= end_ts.to_datetime64())
        alive &= reached
        times[reached, k] = t[reached]
    reached_any = ~np.isnat(times)
    furthest = np.where(reached_any.any(axis=1), n_steps - 1 - np.argmax(reached_any[:, ::-1], axis=1), -1)

    # skipped stages: some deals jump replied → demo_run, or work_started → replied_positive
    skip_a = (furthest >= 4) & (rng.random(deals) < 0.08)
    times[skip_a, 2] = np.datetime64("NaT")
    times[skip_a, 3] = np.datetime64("NaT")
    skip_b = (furthest >= 2) & ~skip_a & (rng.random(deals) < 0.05)
    times[skip_b, 1] = np.datetime64("NaT")

    signed = furthest == n_steps - 1
    last_t = np.nanmax(np.where(np.isnat(times), np.datetime64("1970-01-01"), times), axis=1)
    # losing: most stalled deals are lost after a while; negative replies nearly always
    p_lost = np.where(negative & (furthest == 1), 0.95, np.where(furthest < 0, 0.3, 0.88))
    lost_t = last_t + (rng.exponential(25, deals) * 86400 + 3600).astype("timedelta64[s]")
    lost = ~signed & (rng.random(deals) < p_lost) & (lost_t <= end_ts.to_datetime64())
    lost_t = np.where(lost, lost_t, np.datetime64("NaT"))

    amount = np.round(rng.lognormal(mean=8.8, sigma=0.6, size=deals) / 10) * 10
    known = (furthest >= 5) | (rng.random(deals) < 0.3)
    zero = (furthest >= 5) & (rng.random(deals) < 0.02)
    amount_text = np.where(known, amount.astype(np.int64).astype(str), "")
    amount_text = np.where(zero, np.where(rng.random(deals) < 0.5, "0", ""), amount_text)

    history = _history(rng, times, negative, lost_t, sdr_names[sdr], ae_names[ae], end_ts, first, width)
    stage_now = _current_stage(times, negative)
    owner_now = np.where(~np.isnat(times[:, 4]), ae_names[ae], sdr_names[sdr])
    status = np.where(signed, "won", np.where(lost, "lost", "open"))
    ecd = pd.Series(pd.to_datetime(created) + pd.to_timedelta(rng.integers(60, 200, deals), unit="D"))
    ecd = ecd.dt.strftime("%Y-%m-%d").where((furthest >= 4) & (status == "open"), "")
    ids = np.char.add("D", np.char.zfill(np.arange(first + 1, first + deals + 1).astype(str), width))
    deal_table = pd.DataFrame({
        "deal_id": ids,
        "company": np.char.add(np.char.add(rng.choice(COMPANIES_A, deals), " "), rng.choice(COMPANIES_B, deals)),
        "owner": owner_now,
        "amount": amount_text,
        "created_at": pd.Series(created).dt.strftime("%Y-%m-%d %H:%M"),
        "stage": np.where(lost, "Lost", stage_now),
        "status": status,
        "signed_at": _dates(np.where(signed, times[:, -1], np.datetime64("NaT"))),
        "lost_at": _dates(lost_t),
        "lost_reason": np.where(lost, rng.choice(LOST_REASONS, deals), ""),
        "expected_close_date": ecd.to_numpy(),
        "competitor": np.where((furthest >= 4) & (rng.random(deals) < 0.3), rng.choice(COMPETITORS, deals), ""),
        "pipeline": np.where(rng.random(deals) < 0.85, "New business", "Upsell"),
    })
    activities = _activities(rng, times, last_t, lost_t, ids, sdr_names[sdr], ae_names[ae],
                             prospecting, start, end, first_activity)
    signed_amount = float(np.nansum(np.where(signed, amount, 0)))
    return {"deals": deal_table, "stage_history": history, "activities": activities}, signed_amount


def _reps(rng, n_sdr: int, n_ae: int, start: date, end: date) -> pd.DataFrame:
    names = _names(n_sdr + n_ae, rng, 0)
    role = ["SDR"] * n_sdr + ["AE"] * n_ae
    # the first SDR and AE were there before the data starts; the others join during its first months
    hire = [start + timedelta(days=int(d)) for d in rng.integers(-20, 150, n_sdr + n_ae)]
    hire[0] = hire[n_sdr] = start - timedelta(days=60)
    # one SDR hired recently (ramping), one AE left a while ago
    if n_sdr > 1:
        hire[n_sdr - 1] = end - timedelta(days=120)
    left = [None] * (n_sdr + n_ae)
    if n_ae > 1:
        left[-1] = end - timedelta(days=200)
    quota = [30000 if r == "AE" else 0 for r in role]
    return pd.DataFrame({"name": names, "role": role, "team": ["Team A" if i % 2 == 0 else "Team B" for i in range(len(names))],
                         "hire_date": pd.to_datetime(hire), "left_at": pd.to_datetime(left),
                         "monthly_quota": quota})


def _reps_csv(reps: pd.DataFrame) -> pd.DataFrame:
    out = reps.copy()
    out["hire_date"] = out["hire_date"].dt.strftime("%Y-%m-%d")
    out["left_at"] = out["left_at"].dt.strftime("%Y-%m-%d").fillna("")
    out["monthly_quota"] = out["monthly_quota"].replace(0, "").astype(str)
    out["email"] = out["name"].str.lower().str.replace(" ", ".") + "@example.com"
    return out


def _dates(values: np.ndarray) -> np.ndarray:
    s = pd.Series(values.astype("datetime64[ns]"))
    return s.dt.strftime("%Y-%m-%d").fillna("").to_numpy()


def _current_stage(times: np.ndarray, negative: np.ndarray) -> np.ndarray:
    stages = np.array([CRM_NAMES[s] for s, _, _ in CHAIN], dtype=object)
    reached = ~np.isnat(times)
    last = np.where(reached.any(axis=1), times.shape[1] - 1 - np.argmax(reached[:, ::-1], axis=1), -1)
    names = np.where(last >= 0, stages[np.clip(last, 0, None)], CRM_NAMES["new"])
    return np.where(negative & (last == 1), CRM_NAMES["replied_negative"], names)


def _history(rng, times, negative, lost_t, sdr, ae, end_ts, first: int, width: int) -> pd.DataFrame:
    names = np.array([CRM_NAMES[s] for s, _, _ in CHAIN], dtype=object)
    pos, step = np.nonzero(~np.isnat(times))
    stage = names[step].copy()
    stage[(step == 1) & negative[pos]] = CRM_NAMES["replied_negative"]
    owner = np.where(step >= 4, ae[pos], sdr[pos])
    frame = pd.DataFrame({"pos": pos, "entered_at": times[pos, step], "stage": stage, "owner": owner})
    lost_pos = np.nonzero(~np.isnat(lost_t))[0]
    last_owner = frame.groupby("pos")["owner"].last().reindex(lost_pos).fillna(pd.Series(sdr[lost_pos], index=lost_pos))
    lost_rows = pd.DataFrame({"pos": lost_pos, "entered_at": lost_t[lost_pos], "stage": "Lost",
                              "owner": last_owner.to_numpy()})
    # amount or date edits: the same stage written again a day later
    edits = frame.sample(frac=0.04, random_state=int(rng.integers(1 << 31)))
    edits = edits.assign(entered_at=edits["entered_at"] + pd.Timedelta(hours=20))
    edits = edits[edits["entered_at"] <= end_ts]
    # a few demos re-scheduled: demo_run, back to demo_appointed, then demo_run again
    back = frame[(frame["stage"] == CRM_NAMES["demo_run"])].sample(frac=0.02, random_state=int(rng.integers(1 << 31)))
    back_a = back.assign(entered_at=back["entered_at"] + pd.Timedelta(hours=2), stage=CRM_NAMES["demo_appointed"])
    back_b = back.assign(entered_at=back["entered_at"] + pd.Timedelta(hours=5))
    rows = pd.concat([frame, lost_rows, edits, back_a, back_b], ignore_index=True)
    rows = rows[rows["entered_at"] <= end_ts].sort_values(["pos", "entered_at"], kind="stable")
    rows["deal_id"] = "D" + (rows["pos"] + first + 1).astype(str).str.zfill(width)
    return pd.DataFrame({"deal_id": rows["deal_id"], "stage": rows["stage"],
                         "entered_at": _timestamps(rng, rows["entered_at"]), "owner": rows["owner"]})


def _timestamps(rng, values: pd.Series) -> np.ndarray:
    """Local wall-clock times; a third written in UTC with a Z or +00:00 offset, as some CRMs do."""
    local = pd.Series(values.to_numpy()).dt.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="shift_forward")
    plain = local.dt.strftime("%Y-%m-%d %H:%M:%S")
    utc = local.dt.tz_convert("UTC")
    with_z = utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    with_offset = utc.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    pick = rng.random(len(values))
    out = np.where(pick < 0.15, with_z, np.where(pick < 0.3, with_offset, plain))
    return np.where(local.isna(), pd.Series(values.to_numpy()).dt.strftime("%Y-%m-%d %H:%M:%S"), out)


def _activities(rng, times, last_t, lost_t, ids, sdr, ae, reps, start: date, end: date,
                first_id: int) -> pd.DataFrame:
    deals = len(ids)
    worked = ~np.isnat(times[:, 0])
    first_t = np.where(worked, times[:, 0], np.datetime64("NaT"))
    stop = np.where(np.isnat(lost_t), last_t, lost_t)
    per_deal = np.where(worked, rng.poisson(2 + (~np.isnat(times)).sum(axis=1) * 1.2), 0)
    pos = np.repeat(np.arange(deals), per_deal)
    span = (stop[pos] - first_t[pos]).astype("timedelta64[s]").astype(np.int64).clip(3600, None)
    when = first_t[pos] + (rng.random(len(pos)) * span).astype("timedelta64[s]")
    handed = ~np.isnat(times[pos, 4]) & (when >= times[pos, 4])
    owner = np.where(handed, ae[pos], sdr[pos])
    linked = pd.DataFrame({"owner": owner, "when": when, "deal_id": ids[pos], "role": np.where(handed, "AE", "SDR")})
    # prospecting actions not tied to a deal: about 20 a working day per SDR, 6 per AE
    days = pd.bdate_range(start, end)
    unlinked = []
    for _, rep in reps.iterrows():
        active = days[(days >= rep["hire_date"]) & ((rep["left_at"] is pd.NaT) | pd.isna(rep["left_at"]) | (days < rep["left_at"]))]
        if not len(active):
            continue
        n = rng.poisson(20 if rep["role"] == "SDR" else 6, len(active))
        day = np.repeat(active.to_numpy(), n)
        minutes = rng.integers(8 * 60, 18 * 60, len(day)).astype("timedelta64[m]")
        unlinked.append(pd.DataFrame({"owner": rep["name"], "when": day + minutes, "deal_id": "", "role": rep["role"]}))
    acts = pd.concat([linked, *unlinked], ignore_index=True)
    acts = acts[acts["when"] <= np.datetime64(end + timedelta(days=1))].sort_values("when", kind="stable")
    n = len(acts)
    sdr_types = rng.choice(["Call", "E-mail", "LinkedIn message", "Meeting", "Note", "Task"], n,
                           p=[0.42, 0.32, 0.14, 0.02, 0.06, 0.04])
    ae_types = rng.choice(["Call", "E-mail", "Meeting", "Note", "Task"], n, p=[0.35, 0.3, 0.2, 0.1, 0.05])
    kind = np.where(acts["role"].to_numpy() == "AE", ae_types, sdr_types)
    done = np.where(rng.random(n) < 0.92, "yes", "no")
    return pd.DataFrame({
        "activity_id": np.char.add("A", np.arange(first_id + 1, first_id + n + 1).astype(str)),
        "owner": acts["owner"].to_numpy(),
        "type": kind,
        "occurred_at": _timestamps(rng, acts["when"]),
        "deal_id": acts["deal_id"].to_numpy(),
        "done": done,
    })


def _holidays(start: date, end: date) -> list[str]:
    out = []
    for year in range(start.year, end.year + 1):
        for month, day in ((1, 1), (5, 1), (10, 3), (12, 25), (12, 26)):
            d = date(year, month, day)
            if start <= d <= end:
                out.append(d.isoformat())
    return out
