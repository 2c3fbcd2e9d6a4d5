"""Turning a run into something to read: terminal tables (and, later, files and plots)."""
