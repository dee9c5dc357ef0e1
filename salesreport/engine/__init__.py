"""Engine: funnel facts and every metric, computed from the canonical tables."""
