"""Turning analysed results into things to read: terminal tables, Markdown and CSV, PNG
plots, the HTML page."""
