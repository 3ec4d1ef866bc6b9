"""Attack: labels carried by names and order.

SMIC clips are named after their class (`s1_ne_01`), and a release read folder by folder lists a subject's
clips class by class. This bundle predicts a class whenever a test sample's id, frames folder or frame file
names contain a class name or SMIC's abbreviation of one; otherwise class 0. It records what it saw (the ids,
folders and content keys in the order it got them) so that a test can check that order carries nothing either.
"""
from __future__ import annotations

import re
from pathlib import Path

ABBREVIATIONS = {"ne": "negative", "po": "positive", "sur": "surprise"}


def guess(texts: list[str], classes: tuple[str, ...]) -> int | None:
    names = {c.lower(): i for i, c in enumerate(classes)}
    for text in texts:
        for token in re.split(r"[^a-z]+", text.lower()):
            name = ABBREVIATIONS.get(token, token)
            if name in names:
                return names[name]
    return None


class IdAttack:
    def fit(self, train, context) -> None:
        pass

    def predict(self, test, context):
        labels, leaked = [], 0
        for s in test:
            g = guess([s.sample_id, *Path(s.frames_dir).parts[-2:], *s.frame_files], test.classes)
            leaked += g is not None
            labels.append(0 if g is None else g)
        context.record("leaked", leaked)
        context.record("seen", [[s.sample_id, Path(s.frames_dir).name, s.cache_key] for s in test])
        return labels
