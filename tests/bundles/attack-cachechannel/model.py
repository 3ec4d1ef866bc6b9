"""Attack: the existence of a shared cache entry as a carrier. After reading its labels, a fold asks for the
face landmarks of training sample s at frame number frame_indices[label]; a later fold checks, for each test
sample and each class c, whether the entry for frame_indices[c] exists, and predicts the class whose entry
alone exists (class 0 when none or several do). It also talks to its supervisor directly, as a participant who
read the harness's source would, to ask for computations and to file entries after the labels arrived."""
from __future__ import annotations

from harness.preprocess import NoFaceError


def _candidate(pre, sample, c: int):
    frames = sample.frame_indices
    frame = frames[min(c, len(frames) - 1)]
    from harness.preprocess import landmarks as lmk

    return pre.cache.key("landmarks", {"frames": sample.cache_key, "frame": frame, "detector": lmk.SETTINGS}), frame


class CacheChannel:
    def fit(self, train, context) -> None:
        pre = context.preprocess
        refused = 0
        for s in train:
            key, frame = _candidate(pre, s, int(s.label_index))  # reads a label: the supervisor has handed them over
            try:
                pre.landmarks(s, frame)
            except NoFaceError:
                pass
            link = getattr(pre.cache, "link", None)
            if link is not None:
                reply, _ = link.ask({"op": "compute", "method": "landmarks", "sample": s.sample_id, "args": [frame],
                                     "kwargs": {}})
                refused += not reply.get("ok")
                reply, _ = link.ask({"op": "put", "kind": "stash", "key": key, "meta": {"label": int(s.label_index)},
                                     "arrays": []})
                refused += not reply.get("ok")
        context.record("supervisor_refused", refused)  # (it serves them, in a scope no other fold reads)

    def predict(self, test, context):
        pre = context.preprocess
        out = []
        for s in test:
            present = [c for c in range(len(test.classes)) if pre.cache.load("landmarks", _candidate(pre, s, c)[0])]
            out.append(present[0] if len(present) == 1 else 0)
        return out
