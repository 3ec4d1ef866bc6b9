"""Benchmarks run only when selected (`make bench` = `pytest -m bench --benchmark-enable`); a plain `pytest`
skips them instead of spending a minute on million-row files."""
from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    if "bench" in (config.getoption("markexpr") or ""):
        return  # selected (or deselected) explicitly with -m
    skip = pytest.mark.skip(reason="benchmark: run with `make bench` (pytest -m bench --benchmark-enable)")
    for item in items:
        if "bench" in item.keywords:
            item.add_marker(skip)
