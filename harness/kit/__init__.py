"""Optional building blocks for bundles, above the contract (`harness.api`) and beside the engine:

- `harness.kit.svm`: the classifier stage of the hand-crafted baselines (a linear SVM with C chosen by
  subject-grouped inner cross-validation on the training subjects) and `FeatureSvm`, the bundle shape
  "per-sample features + that SVM";
- `harness.kit.nn`: one training loop for every neural bundle (`nn.training`), parameter counts and latency
  (`nn.latency`), and the spec a bundle gives for `--fold-batched` training (`nn.batched`);
- `harness.kit.preprocessing`: the preprocessing configs and helpers a bundle names (face, flow and spotting
  configs, temporal normalisation, facial regions), re-exported from `harness.preprocess`.

A bundle may use none of it; what it uses is the same code for every bundle, so that a comparison measures the
methods, not their plumbing.
"""
