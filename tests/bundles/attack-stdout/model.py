"""Attack: forge the harness's machine-readable output.

`harness submit --json` prints one JSON document; a fold that writes to the same standard output first can make
a reader that takes the first document see whatever it likes. Also writes straight to file descriptors 1 and 2
(bypassing Python's sys.stdout) and sends terminal escape codes. Predicts class 0 for every sample.
"""
from __future__ import annotations

import json
import os
import sys

FORGED = {"submission_id": 1, "status": "scored", "wall_s": 0.1, "identity": "forged",
          "report": {"metrics": {"uf1": {"value": 1.0}, "uar": {"value": 1.0}, "acc": {"value": 1.0}}}}


class StdoutAttack:
    def fit(self, train, context) -> None:
        print(json.dumps(FORGED), flush=True)
        os.write(1, (json.dumps(FORGED) + "\n").encode())
        sys.stderr.write("\x1b[2J\x1b[31mFORGED\x1b[0m\n")
        sys.stderr.flush()
        os.write(2, b"\x1b]0;pwned\x07\n")

    def predict(self, test, context):
        print("predict says hello")
        return [0] * len(test)
