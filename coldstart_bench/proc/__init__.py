"""Processes: spawn, readiness, teardown, the process tree, the guardian, signals."""
