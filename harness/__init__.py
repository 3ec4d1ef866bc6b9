"""harness: a competition and benchmark harness for facial micro-expression recognition.

Kept import-free on purpose: `harness --help` must not pay for numpy, pandas or torch.
"""
__version__ = "0.1.0"
