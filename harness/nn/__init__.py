"""Shared neural-network utilities for bundles: one training loop, parameter counts, latency."""
