"""SPEC §3–§4 rules, one per test, on tiny hand-built data sets with hand-computed answers."""

from __future__ import annotations

from salesreport.config import Config, parse_config
from salesreport.periods import day, month, week
from salesreport.report.build import build_report

from .conftest import facts_for, make_data


def deal(deal_id, created, stage="work_started", owner="Anna", **kw):
    return {"deal_id": deal_id, "owner": owner, "created_at": created, "stage": stage, "amount": "",
            "status": "", "signed_at": "", "lost_at": "", **kw}


def entry(deal_id, stage, at, owner="Anna"):
    return {"deal_id": deal_id, "stage": stage, "entered_at": at, "owner": owner}


def monthly(folder, ym=(2026, 3), config=None, **kw):
    config = config or Config()
    return build_report("monthly", facts_for(folder, config), config, month(*ym), **kw).current


def weekly(folder, yw=(2026, 10), config=None, **kw):
    config = config or Config()
    return build_report("weekly", facts_for(folder, config), config, week(*yw), **kw).current


def value(pr, metric_id):
    return pr.metrics[metric_id].value


def test_reached_counts_skipped_stages(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-05", "demo_run")],
              [entry("D1", "work_started", "2026-01-05"), entry("D1", "replied", "2026-01-10"),
               entry("D1", "demo_run", "2026-02-01")])
    pr = weekly(data_dir)
    # replied → demo_run: replied_positive and demo_appointed count as passed
    assert value(pr, "replied_positive") == 1
    assert value(pr, "demo_appointed") == 1
    assert value(pr, "demo_run") == 1
    assert value(pr, "offer_sent") == 0


def test_first_entry_is_the_earliest_entry_of_the_stage_or_a_later_one(data_dir):
    # demo_run entered 3 Mar, demo_appointed only on 9 Mar (entered late, out of order)
    make_data(data_dir, [deal("D1", "2026-02-01", "demo_appointed")],
              [entry("D1", "work_started", "2026-02-01"), entry("D1", "demo_run", "2026-03-03"),
               entry("D1", "demo_appointed", "2026-03-09")])
    pr = weekly(data_dir, (2026, 10))  # 2–8 March
    assert value(pr, "demo_appointed_period") == 1
    assert value(pr, "demo_run_period") == 1
    assert weekly(data_dir, (2026, 11)).metrics["demo_appointed_period"].value == 0


def test_replied_negative_implies_replied_never_positive(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-05", "replied_negative")],
              [entry("D1", "work_started", "2026-01-05"), entry("D1", "replied_negative", "2026-01-09")])
    pr = weekly(data_dir)
    assert value(pr, "replied") == 1
    assert value(pr, "replied_positive") == 0


def test_lost_deals_count_for_the_stages_they_reached(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-05", "Lost", status="lost", lost_at="2026-02-01"),
                         deal("D2", "2026-01-06", "work_started")],
              [entry("D1", "work_started", "2026-01-05"), entry("D1", "replied_positive", "2026-01-10"),
               entry("D1", "Lost", "2026-02-01"), entry("D2", "work_started", "2026-01-06")])
    pr = monthly(data_dir)
    assert value(pr, "worked") == 2
    assert value(pr, "replied") == 1
    assert value(pr, "conv_reply") == 0.5


def test_backward_move_never_undoes_reached(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-05", "demo_appointed")],
              [entry("D1", "work_started", "2026-01-05"), entry("D1", "demo_run", "2026-01-20"),
               entry("D1", "demo_appointed", "2026-01-25")])
    f = facts_for(data_dir)
    assert any("moves backwards" in w for w in f.warnings)
    pr = weekly(data_dir)
    assert value(pr, "demo_run") == 1
    # its stage at the end of the week is the latest entry: demo_appointed, an SDR-pipeline stage
    assert value(pr, "outreach_sdr") == 1
    assert value(pr, "outreach_ae") == 0


def test_as_of_ignores_records_after_the_period_end(data_dir):
    make_data(
        data_dir,
        [deal("D1", "2026-01-05", "signed", status="won", signed_at="2026-04-02", amount="1000"),
         deal("D2", "2026-04-01", "work_started")],
        [entry("D1", "work_started", "2026-01-05"), entry("D1", "offer_sent", "2026-03-31 23:59"),
         entry("D1", "signed", "2026-04-02"), entry("D2", "work_started", "2026-04-01")],
        [{"owner": "Anna", "type": "call", "occurred_at": "2026-04-01 00:00", "deal_id": "D1"}],
    )
    march = monthly(data_dir)
    assert value(march, "revenue_month") == 0
    assert value(march, "revenue_ytd") == 0
    assert value(march, "worked") == 1  # D2 started in April
    assert value(march, "offer_sent") == 1
    assert value(march, "conv_client") == 0
    assert value(march, "sales_actions") == 0
    april = monthly(data_dir, (2026, 4))
    assert value(april, "revenue_month") == 1000
    assert value(april, "conv_client") == 0.5


def test_cohort_counts_versus_period_counts(data_dir):
    make_data(data_dir, [deal("D1", "2025-12-20", "replied"), deal("D2", "2026-01-05", "replied"),
                         deal("D3", "2026-03-03", "replied")],
              [entry("D1", "work_started", "2025-12-20"), entry("D1", "replied", "2026-03-02"),
               entry("D2", "work_started", "2026-01-05"), entry("D2", "replied", "2026-02-10"),
               entry("D3", "work_started", "2026-03-03"), entry("D3", "replied", "2026-03-04")])
    pr = weekly(data_dir)  # 2–8 March 2026; default cohort: 1 Jan 2026 .. 8 Mar
    assert value(pr, "worked") == 2  # D1 started work in 2025: outside the year-to-date cohort
    assert value(pr, "replied") == 2
    assert value(pr, "worked_period") == 1  # D3
    assert value(pr, "replied_period") == 2  # D1 and D3 replied this week
    since = build_report("weekly", facts_for(data_dir), Config(), week(2026, 10), since=__import__("datetime").date(2025, 12, 1)).current
    assert value(since, "worked") == 3
    configured = parse_config({"report": {"cohort_start": "2025-12-01"}})
    assert weekly(data_dir, config=configured).metrics["worked"].value == 3


def test_ratio_with_zero_denominator_is_null(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-05", "new")], [entry("D1", "new", "2026-01-05")])
    pr = monthly(data_dir)
    assert value(pr, "worked") == 0
    for metric_id in ("conv_reply", "conv_demo", "conv_client", "revenue_mom_growth", "average_deal_size"):
        assert pr.metrics[metric_id].value is None, metric_id
        assert pr.metrics[metric_id].status is None


def test_offset_timestamps_convert_to_the_report_zone_and_naive_ones_are_local(data_dir):
    make_data(data_dir, [deal("D1", "2026-03-01", "replied"), deal("D2", "2026-03-01", "replied")],
              [entry("D1", "work_started", "2026-03-01"), entry("D1", "replied", "2026-03-31T22:30:00Z"),
               entry("D2", "work_started", "2026-03-01"), entry("D2", "replied", "2026-03-31 23:30")])
    moscow = parse_config({"report": {"timezone": "Europe/Moscow"}})
    f = facts_for(data_dir, moscow)
    march = build_report("daily", f, moscow, day(__import__("datetime").date(2026, 3, 31))).current
    april = build_report("daily", f, moscow, day(__import__("datetime").date(2026, 4, 1))).current
    assert value(march, "replied_period") == 1  # D2: naive, local
    assert value(april, "replied_period") == 1  # D1: 22:30 UTC is 01:30 on 1 April in Moscow
    utc = build_report("daily", facts_for(data_dir), Config(), day(__import__("datetime").date(2026, 3, 31))).current
    assert value(utc, "replied_period") == 2


def test_history_rows_repeating_the_stage_are_not_stage_changes(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-01", "qualified")],
              [entry("D1", "work_started", "2026-01-01"), entry("D1", "work_started", "2026-01-05"),
               entry("D1", "qualified", "2026-01-11")])
    pr = monthly(data_dir, (2026, 1))
    assert value(pr, "stage_days_work_started") == 10.0  # 1 → 11 Jan, the repeat on the 5th is an edit


def test_a_loss_ends_the_stay_it_happens_in_even_on_the_day_of_entry(data_dir):
    """SPEC: stage days average the stays that ended. A loss dated by day only (lost_at, or a history row at
    midnight) on the day the deal entered a stage ends that stay after 0 days; it is not left out."""
    make_data(data_dir, [deal("D1", "2026-01-01", "replied_negative", status="lost", lost_at="2026-01-11"),
                         deal("D2", "2026-01-01", "Lost", status="lost"),
                         deal("D3", "2026-01-01", "Lost", status="lost")],
              [entry("D1", "work_started", "2026-01-01 09:00"), entry("D1", "replied_negative", "2026-01-11 10:00"),
               entry("D2", "work_started", "2026-01-01 09:00"), entry("D2", "replied_negative", "2026-01-05 10:00"),
               entry("D2", "Lost", "2026-01-09"),
               entry("D3", "work_started", "2026-01-01 09:00"), entry("D3", "replied_negative", "2026-01-20 10:00"),
               entry("D3", "Lost", "2026-01-20")])
    pr = monthly(data_dir, (2026, 1))
    assert value(pr, "stage_days_replied_negative") == 4 / 3  # D1 0, D2 4 (5 → 9 Jan), D3 0 days
    assert value(pr, "stage_days_work_started") == 11.0  # 10, 4 and 19 days


def test_without_stage_history_the_deal_row_is_the_history(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-05", "demo_run"),
                         deal("D2", "2026-01-06", "Client Signed", status="won", signed_at="2026-03-10", amount="500"),
                         deal("D3", "2026-01-07", "Lost", status="lost", lost_at="2026-02-01"),
                         deal("D4", "2026-01-08", "offer_sent", status="lost", lost_at="2026-02-01")])
    config = parse_config({"funnel": {"stages": {"signed": ["Client Signed"]}}})
    f = facts_for(data_dir, config)
    assert any("approximations" in w for w in f.warnings)
    pr = build_report("monthly", f, config, month(2026, 3)).current
    assert value(pr, "worked") == 4  # lost deals: work_started at created_at, whatever their stage
    assert value(pr, "demo_run") == 2  # D1 at its current stage; D2 signed; not the lost D4
    assert value(pr, "revenue_month") == 500
    assert value(pr, "sales_cycle_days") == 63.0  # 6 Jan → 10 Mar


def test_open_at_the_period_end(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-05", "work_started"),
                         deal("D2", "2026-01-05", "Lost", status="lost", lost_at="2026-03-05"),
                         deal("D3", "2026-04-02", "work_started")],
              [entry("D1", "work_started", "2026-01-05"), entry("D2", "work_started", "2026-01-05"),
               entry("D3", "work_started", "2026-04-02")])
    pr = weekly(data_dir, (2026, 10))  # ends 8 March: D2 lost on the 5th, D3 not created yet
    assert value(pr, "outreach_sdr") == 1
    assert value(weekly(data_dir, (2026, 9)), "outreach_sdr") == 2


def test_stale_is_no_stage_change_in_the_90_days_ending_on_the_last_day(data_dir):
    # March 2026 ends on the 31st; 31 March − 90 days = 31 December 2025
    make_data(data_dir, [deal("D1", "2025-12-01", "replied"), deal("D2", "2025-12-01", "replied"),
                         deal("D3", "2025-12-01", "new")],
              [entry("D1", "work_started", "2025-12-01"), entry("D1", "replied", "2025-12-31 18:00"),
               entry("D2", "work_started", "2025-12-01"), entry("D2", "replied", "2026-01-01 09:00"),
               entry("D3", "new", "2025-12-01")],
              [{"owner": "Anna", "type": "call", "occurred_at": "2026-01-01", "deal_id": "D1"},
               {"owner": "Anna", "type": "call", "occurred_at": "2025-12-31", "deal_id": "D2"}])
    pr = monthly(data_dir)
    assert value(pr, "stuck_share_active") == 0.5  # D1 stuck, D2 not; D3 (new) is not an active stage
    assert value(pr, "stale_share") == 2 / 3
    assert value(pr, "untouched_deals") == 2  # D2's last action is on day −90, D3 has none
    assert value(pr, "funnel_balance") == 1.0


def test_zero_amount_after_qualified_lists_the_deals(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-01", "qualified", amount="0"),
                         deal("D2", "2026-01-01", "qualified", amount="100"),
                         deal("D3", "2026-01-01", "Lost", status="lost", lost_at="2026-02-01"),
                         deal("D4", "2026-01-01", "offer_sent")],
              [entry("D1", "qualified", "2026-01-02"), entry("D2", "qualified", "2026-01-02"),
               entry("D3", "qualified", "2026-01-02"), entry("D4", "offer_sent", "2026-01-02")])
    mv = monthly(data_dir).metrics["zero_amount_after_qualified"]
    assert mv.value == 2
    assert mv.deal_ids == ("D1", "D4")  # the lost D3 is neither open nor signed
    assert mv.status.value == "bad"


def test_history_of_unknown_deals_is_ignored_with_a_warning(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-05")],
              [entry("D1", "work_started", "2026-01-05"), entry("X9", "replied", "2026-01-06")])
    f = facts_for(data_dir)
    assert any("1 stage-history row(s) name deals not in the deals table" in w and "X9" in w for w in f.warnings)
    assert value(weekly(data_dir), "replied") == 0


def test_pipeline_filter_keeps_that_pipelines_deals_and_their_activities(data_dir):
    make_data(data_dir, [deal("D1", "2026-01-05", pipeline="New business"),
                         deal("D2", "2026-01-05", pipeline="Upsell")],
              [entry("D1", "work_started", "2026-01-05"), entry("D2", "work_started", "2026-01-05")],
              [{"owner": "Anna", "type": "call", "occurred_at": "2026-03-02", "deal_id": "D2"},
               {"owner": "Anna", "type": "call", "occurred_at": "2026-03-02", "deal_id": ""}])
    from salesreport.engine.funnel import build_facts
    from salesreport.sources.canonical import load_dataset

    config = Config()
    f = build_facts(load_dataset(str(data_dir), config, pipeline="upsell"), config)
    pr = build_report("weekly", f, config, week(2026, 10)).current
    assert value(pr, "worked") == 1
    assert value(pr, "sales_actions") == 2  # the deal's call and the unlinked one
