"""Attack: a mark that is not a write. Reading a file updates its access time (relatime updates it on the first
read after a write), and every fold can stat the staged frames. A fold reads the frames of its training samples
whose label is not 0; a later fold predicts 1 for a test sample whose frames were read since they were staged,
0 otherwise."""
from __future__ import annotations

import os


def _files(sample) -> list[str]:
    return [os.path.join(sample.frames_dir, f) for f in sample.frame_files]


class AtimeAttack:
    def fit(self, train, context) -> None:
        for s in train:
            if s.label_index != 0:
                for path in _files(s):
                    with open(path, "rb") as f:
                        f.read(1)

    def predict(self, test, context):
        marked = []
        for s in test:
            st = os.stat(_files(s)[0])
            marked.append(st.st_atime_ns > st.st_mtime_ns)
        context.record("marked", sum(marked))
        return [1 if m else 0 for m in marked]
