"""Report: the Report object built from the engine's figures, one period or a trend."""
