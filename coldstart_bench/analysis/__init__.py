"""Every number a report shows, computed once: statistics, frames, summaries, effects."""
