"""Regression verdicts: the decision rule, matching two sides, baselines, CI formats."""
