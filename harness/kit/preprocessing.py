"""The preprocessing names a bundle uses, in one place: the configs of face alignment, optical flow and apex
spotting (every field is part of the cache key), temporal normalisation, and the facial regions.

They are `harness.preprocess`'s own objects, re-exported so that a bundle depends on the contract and the kit
only; the results themselves come from `context.preprocess`.
"""
from harness.preprocess.config import FaceConfig, FlowConfig, SpotConfig, canonical
from harness.preprocess.regions import AU_REGIONS, HTNET_REGIONS, REGIONS, htnet_mosaic, region_centers
from harness.preprocess.temporal import METHODS as TEMPORAL_METHODS, resample_rate, temporal_normalise

__all__ = ["AU_REGIONS", "FaceConfig", "FlowConfig", "HTNET_REGIONS", "REGIONS", "SpotConfig", "TEMPORAL_METHODS",
           "canonical", "htnet_mosaic", "region_centers", "resample_rate", "temporal_normalise"]
