"""Validation data for early stopping or tuning, carved from the training subjects only."""
from __future__ import annotations

from harness.errors import BadInput


def inner_split(train, fraction: float = 0.2, seed: int = 0):
    """Subject-disjoint (fit, validation) split of a TrainSet, stratified by class as far as subjects allow."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    if not 0 < fraction < 1:
        raise BadInput(f"inner_split fraction must be in (0, 1), got {fraction}")
    groups = train.subjects
    n_groups = len(set(groups))
    if n_groups < 2:
        raise BadInput("an inner validation split needs at least two training subjects")
    n_splits = min(max(2, round(1 / fraction)), n_groups)
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed % (2 ** 32))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class" warnings on tiny folds
        fit_idx, val_idx = next(splitter.split(np.zeros(len(train)), train.labels, groups))
    return train.subset(fit_idx), train.subset(val_idx)
