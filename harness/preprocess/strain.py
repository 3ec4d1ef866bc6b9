"""Optical strain magnitude of a flow field (STSTNet eq. 7, Bi-WOOF's global weight).

|e| = sqrt(u_x^2 + v_y^2 + 1/2 (u_y + v_x)^2): the norm of the symmetric part of the flow's Jacobian (normal
strains on the diagonal, shear strain off it). Derivatives are central differences (one-sided at the border),
exact for fields that are linear in x and y; the map is dimensionless, so it does not depend on the map's scale
as long as the flow is in that map's pixels.
"""
from __future__ import annotations

import numpy as np


def strain_components(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(e_xx, e_yy, e_xy) of an (..., H, W, 2) flow, each (..., H, W) float32."""
    f = np.asarray(flow, dtype=np.float32)
    if f.ndim < 3 or f.shape[-1] != 2 or min(f.shape[-3:-1]) < 2:
        from harness.errors import BadInput

        raise BadInput(f"strain needs an (..., H, W, 2) flow with H, W >= 2, got shape {f.shape}")
    u, v = f[..., 0], f[..., 1]
    u_y, u_x = np.gradient(u, axis=(-2, -1))
    v_y, v_x = np.gradient(v, axis=(-2, -1))
    return u_x, v_y, 0.5 * (u_y + v_x)


def strain(flow: np.ndarray) -> np.ndarray:
    """Optical strain magnitude, (..., H, W) float32, of an (..., H, W, 2) flow."""
    e_xx, e_yy, e_xy = strain_components(flow)
    # sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2) == sqrt(u_x^2 + v_y^2 + 1/2 (u_y + v_x)^2)
    return np.sqrt(e_xx ** 2 + e_yy ** 2 + 2.0 * e_xy ** 2).astype(np.float32)
