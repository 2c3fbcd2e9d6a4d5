"""From a scenario to concrete trials: their order (and shards) and what each one runs."""
