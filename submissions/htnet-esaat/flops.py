"""FLOPs of one forward pass, counted by PyTorch's own `torch.utils.flop_counter.FlopCounterMode`.

It counts matrix multiplications and convolutions (2 FLOPs per multiply-add) and ignores element-wise work
(softmax, norms, activations), the usual convention of the FLOPs columns in vision papers (Sci Rep Fig. 1,
Han et al., Lin et al.). Counted on a batch of one input, eval mode, no gradients.
"""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode


@torch.no_grad()
def count_flops(model: torch.nn.Module, example: torch.Tensor) -> int:
    """FLOPs of `model(example[:1])` (one sample)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with FlopCounterMode(display=False) as counter:
        model(example[:1].to(device))
    model.train(was_training)
    return int(counter.get_total_flops())
