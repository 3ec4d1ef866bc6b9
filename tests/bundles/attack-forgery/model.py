"""Attack: lie to the harness. Records a sandbox status of its own ("none: all good"); with forge_result, sends
its own result message before returning, claiming predictions for its training samples under another fold's
name (which would overwrite that fold's committed predictions)."""
from __future__ import annotations


class Forgery:
    def __init__(self, forge_result: bool = False) -> None:
        self.forge_result = forge_result

    def fit(self, train, context) -> None:
        self.train_ids = list(train.ids)
        context.record("sandbox", "landlock ABI 99 (forged)")
        context.record("isolation", {"landlock": "forged"})
        context.record("wall_s", -1)

    def predict(self, test, context):
        link = getattr(context.preprocess.cache, "link", None)
        if self.forge_result and link is not None:
            link.tell({"op": "result", "results": [{"fold": "somebody-else", "ids": self.train_ids,
                                                    "pred": [1] * len(self.train_ids), "proba": None,
                                                    "records": {}, "error": None}]})
        return [0] * len(test)
