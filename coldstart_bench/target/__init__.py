"""The reference target: a tiny GPT-style model behind an OpenAI-compatible server.

The harness never imports this package; scenarios launch it as a subprocess
(``coldstart serve`` or ``python -m coldstart_bench.target``) like any other server.
Its modules import torch, so nothing here is imported by ``coldstart --help``.
"""
