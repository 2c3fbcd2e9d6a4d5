"""The results on disk: record schema, run store, merge, environment, redaction."""
