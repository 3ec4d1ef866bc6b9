"""Submission bundles: the manifest (`manifest.py`: load and validate `bundle.yaml`), the shipped bundles
(`discover.py`), the private import of a bundle's code (`loader.py`) and the list of bundles reviewed for
`--fold-batched` (`reviewed.py`, `reviewed-bundles.yaml`)."""
