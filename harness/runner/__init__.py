"""The runner: submission bundles, leak-proof fold execution, resume, provenance, regression checks."""
