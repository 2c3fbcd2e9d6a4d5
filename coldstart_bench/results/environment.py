"""What a run was measured on: machine, versions, devices and the environment variables
that change how targets start (secret ones redacted)."""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import socket
import subprocess
import sys
from importlib.util import find_spec
from typing import Any

from coldstart_bench.host import memory
from coldstart_bench.host.cpus import affinity_cpus, cpu_model
from coldstart_bench.host.devices import nvidia_gpus
from coldstart_bench.results.redact import redact_mapping
from coldstart_bench.results.schema import NodeIdentity

# Harness environment variables worth recording: they change how targets start.
_RECORDED_ENV = re.compile(
    r"^(CUDA_|NVIDIA_|OMP_|MKL_|OPENBLAS_|PYTORCH_|TORCH_|HF_|TRANSFORMERS_|VLLM_|PYTHON|COLDSTART_|LD_PRELOAD$|MALLOC_)"
)

_TORCH_PROBE = """
import json, torch
info = {"version": torch.__version__, "cuda_available": torch.cuda.is_available(),
        "cuda_version": torch.version.cuda, "devices": []}
if info["cuda_available"]:
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        info["devices"].append({"name": p.name, "memory_bytes": p.total_memory})
print(json.dumps(info))
"""


def torch_info(timeout_s: float = 60.0) -> dict[str, Any] | None:
    """torch and CUDA facts, asked of a separate interpreter so the harness never imports
    torch itself. None where torch is not installed."""
    if find_spec("torch") is None:
        return None
    try:
        done = subprocess.run(
            [sys.executable, "-c", _TORCH_PROBE],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"could not query torch: {exc}"}
    if done.returncode != 0:
        return {
            "error": done.stderr.strip().splitlines()[-1]
            if done.stderr.strip()
            else "torch probe failed"
        }
    try:
        return dict(json.loads(done.stdout))
    except json.JSONDecodeError:
        return {"error": "torch probe printed no JSON"}


def environment(*, with_torch: bool = True) -> dict[str, Any]:
    uname = platform.uname()
    recorded_env = {k: v for k, v in sorted(os.environ.items()) if _RECORDED_ENV.match(k)}
    return {
        "hostname": socket.gethostname(),
        "os": f"{uname.system} {uname.release}",
        "platform": platform.platform(),
        "machine": uname.machine,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity_cpus(),
        "memory_bytes": memory.total_bytes(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "torch": torch_info() if with_torch else None,
        "env": redact_mapping(recorded_env),
    }


@functools.lru_cache(maxsize=1)
def node_identity() -> NodeIdentity:
    """Which machine ran a trial: put on every record, so runs spanning several nodes are
    never averaged across machine types by accident."""
    return NodeIdentity(socket.gethostname(), cpu_model(), nvidia_gpus())
