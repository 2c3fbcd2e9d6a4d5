"""The reference target's commands that the ``coldstart`` executable hands to the target
before the harness's CLI is imported (``entry.py``), and that ``coldstart --help`` lists.
A module of its own, importing nothing, so both can read it without importing the other."""

TARGET_COMMANDS = (
    "serve",
    "serve-gateway",
    "make-model",
    "check-device",
)
