"""Cold start over time: runs kept in a history store (a SQLite file, or PostgreSQL), per
variant, metric and start-up phase, with the machine's calibration and the commit beside
each trial."""

DEFAULT_WINDOW = 5  # runs pooled into a history baseline (here: --help reads it, light)
