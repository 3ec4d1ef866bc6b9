"""Codabench competition bundles (`competition.yaml` version 2): build one from a protocol, check one.

Import-free on purpose: this package is packaged into the bundle's scoring program, which runs where only the
standard library and numpy exist.
"""
