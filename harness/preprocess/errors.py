"""Per-sample preprocessing errors and the caller's policy for them."""
from __future__ import annotations

from harness.errors import HarnessError

#: What to do when a sample has no detectable face: leave it out and count it, or stop the run.
NO_FACE_POLICIES = ("skip", "fail")


class NoFaceError(HarnessError):
    """No face was found in a clip: says which clip and which frame(s) were tried.

    Never replaced by a silent zero: the caller chooses the policy (`Preprocessor.map(..., on_no_face=)`).
    """

    def __init__(self, sample_id: str, frame: int, tried: tuple[int, ...] = (), frames_dir: str = ""):
        self.sample_id = sample_id
        self.frame = int(frame)
        self.tried = tuple(int(t) for t in tried) or (self.frame,)
        self.frames_dir = frames_dir
        where = f" in {frames_dir}" if frames_dir else ""
        super().__init__(
            f"no face found in sample {sample_id!r}, frame {self.frame}{where} "
            f"(frames tried: {', '.join(map(str, self.tried))}); "
            "skip such samples with on_no_face='skip' or check the clip")


def check_policy(policy: str) -> str:
    if policy not in NO_FACE_POLICIES:
        from harness.errors import BadInput
        from harness.registry import suggest

        raise BadInput(suggest(policy, list(NO_FACE_POLICIES), "no-face policy"))
    return policy
