"""Scenario files: schema, matrix of variants, loading, cross-checks and error wording."""
