"""Sources: CSV folders, workbooks, Google Sheets and CRM presets, read into the canonical tables."""
