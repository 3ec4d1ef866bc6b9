"""Named landmark regions: indices, anatomy on a real detected face, masks, boxes and HTNet's mosaic."""
from __future__ import annotations

import numpy as np
import pytest

from harness.errors import BadInput
from harness.preprocess.regions import (ALIGN_POINTS, AU_REGIONS, HTNET_REGIONS, N_LANDMARKS, REGIONS,
                                        STABLE_REGION, crop_boxes, htnet_mosaic, region_boxes, region_centers,
                                        region_indices, region_masks)

pytestmark = pytest.mark.mediapipe


@pytest.fixture(scope="module")
def landmarks():
    from harness.preprocess.landmarks import detect
    from harness.preprocess.testing import face_image

    lm = detect(face_image(256))
    assert lm is not None and lm.shape == (N_LANDMARKS, 2)
    return lm


def test_every_region_is_a_nonempty_set_of_valid_indices():
    for name, idx in REGIONS.items():
        assert idx and len(set(idx)) == len(idx), name
        assert all(0 <= i < N_LANDMARKS for i in idx), name
    assert len(AU_REGIONS) == 17 and len(set(AU_REGIONS)) == 17
    for group in (AU_REGIONS, HTNET_REGIONS, ALIGN_POINTS, (STABLE_REGION,)):
        assert set(group) <= set(REGIONS)


def test_eye_sets_are_mediapipes_own_contours():
    from mediapipe.python.solutions import face_mesh_connections as c

    def flat(edges):
        return {i for e in edges for i in e}

    assert set(REGIONS["eye_left"]) == flat(c.FACEMESH_LEFT_EYE)
    assert set(REGIONS["eye_right"]) == flat(c.FACEMESH_RIGHT_EYE)
    brows = flat(c.FACEMESH_LEFT_EYEBROW) | flat(c.FACEMESH_RIGHT_EYEBROW)
    for name in ("brow_inner_right", "brow_inner_left", "brow_outer_right", "brow_outer_left"):
        assert set(REGIONS[name]) <= brows
    lips = flat(c.FACEMESH_LIPS)
    assert set(REGIONS["lip_upper"]) <= lips and set(REGIONS["lip_lower"]) <= lips


def test_regions_sit_where_anatomy_says_on_a_real_face(landmarks):
    y = {n: region_centers(landmarks, [n])[0, 1] for n in REGIONS}
    x = {n: region_centers(landmarks, [n])[0, 0] for n in REGIONS}
    assert y["brow_inner_right"] < y["eyelid_upper_right"] < y["eyelid_lower_right"] < y["nose_wing_right"]
    assert y["nose_bridge"] < y["nose_tip"] < y["lip_upper"] < y["lip_lower"] < y["chin"]
    assert y["eye_right"] < y["cheek_right"] < y["mouth_corner_right"]
    for name in REGIONS:
        if name.endswith("_right"):
            # subject's right = image left on a frontal, non-mirrored photograph
            assert x[name] < x[name[: -len("right")] + "left"], name
    assert x["brow_outer_right"] < x["brow_inner_right"] and x["brow_inner_left"] < x["brow_outer_left"]


def test_masks_are_dilated_hulls_and_disjoint_where_they_should_be(landmarks):
    masks = region_masks(landmarks, AU_REGIONS, (256, 256))
    assert masks.shape == (17, 256, 256) and masks.dtype == bool
    assert all(m.sum() > 20 for m in masks)
    thin = region_masks(landmarks, ["eyelid_upper_right"], (256, 256), pad=0)[0]
    assert masks[AU_REGIONS.index("eyelid_upper_right")].sum() > 2 * thin.sum()
    brow, chin = masks[AU_REGIONS.index("brow_inner_left")], masks[AU_REGIONS.index("chin")]
    assert not (brow & chin).any()


def test_boxes_stay_inside_the_map_at_full_size(landmarks):
    small = (landmarks + 0.5) * 28 / 256 - 0.5
    boxes = region_boxes(small, HTNET_REGIONS, (28, 28), half=7)
    assert boxes.shape == (4, 4)
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 28).all()
    assert ((boxes[:, 2] - boxes[:, 0]) == 14).all() and ((boxes[:, 3] - boxes[:, 1]) == 14).all()
    with pytest.raises(BadInput):
        region_boxes(small, HTNET_REGIONS, (28, 28), half=15)


def test_htnet_mosaic_tiles_eyes_above_mouth_corners(landmarks):
    small = (landmarks + 0.5) * 28 / 256 - 0.5
    maps = np.random.default_rng(0).normal(size=(28, 28, 3)).astype(np.float32)
    mosaic = htnet_mosaic(maps, small)
    assert mosaic.shape == (28, 28, 3)
    patches = crop_boxes(maps, region_boxes(small, HTNET_REGIONS, (28, 28), 7))
    np.testing.assert_array_equal(mosaic[:14, :14], patches[0])   # image-left eye
    np.testing.assert_array_equal(mosaic[14:, 14:], patches[3])   # image-right mouth corner


def test_unknown_region_names_get_a_suggestion(landmarks):
    with pytest.raises(BadInput, match="did you mean 'chin'"):
        region_indices("chn")
    with pytest.raises(BadInput, match="landmarks must be"):
        region_centers(np.zeros((5, 2)), ["chin"])
