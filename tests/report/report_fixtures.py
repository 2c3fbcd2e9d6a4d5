"""Constants shared by the report tests."""

HOSTILE = "<script>alert(1)</script>"
