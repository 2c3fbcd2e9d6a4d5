"""One replica of a hostile fleet: ``hostile_replica.py REPLICA TOY_ARGS...`` runs the toy
server with the misbehaviour this replica number is given (the rest are well)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

MISBEHAVIOUR = {
    "3": ["--never-listen"],  # never ready
    "5": ["--crash-after-tokens", "1"],  # ready, then dies on its first answer
    "7": ["--hang-after-tokens", "1"],  # ready, then hangs its stream
}

if __name__ == "__main__":
    replica, *toy_args = sys.argv[1:]
    toy = Path(__file__).with_name("toy_server.py")
    argv = [sys.executable, str(toy), *toy_args, *MISBEHAVIOUR.get(replica, [])]
    os.execv(sys.executable, argv)
