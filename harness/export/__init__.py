"""Exports of a protocol to the platforms where the field hosts its challenges (today: Codabench).

An export carries the protocol's own scorer with it, so that a hosted board and `harness score` cannot disagree.
"""
