"""Neural-network building blocks for bundles: one training loop, parameter counts, latency, batched folds."""
