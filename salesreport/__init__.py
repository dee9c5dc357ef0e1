"""salesreport: B2B sales reports (monthly, quarterly, weekly, daily, team) from CRM exports.

    import salesreport
    r = salesreport.weekly(data="sample_data", week="2026-W46")
    r.to_pandas(); r.to_dict(); r.write("weekly.xlsx")
    tables = salesreport.load(data="sample_data")

The report functions are imported on first use, so the command line starts without them.
"""

__version__ = "0.1.0"
__all__ = ["Report", "Tables", "convert", "daily", "load", "monthly", "quarterly", "team", "weekly"]


def __getattr__(name: str):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'salesreport' has no attribute {name!r}")
