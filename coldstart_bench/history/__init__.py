"""Cold start over time: runs kept in a history store (one SQLite file), per variant, metric
and start-up phase, with the machine's calibration and the commit beside each trial."""
