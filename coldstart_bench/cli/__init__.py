"""The coldstart command line: parse, call the typed entry points, print."""
