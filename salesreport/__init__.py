"""salesreport: B2B sales reports (monthly, weekly, daily) from CRM exports."""

__version__ = "0.1.0"
