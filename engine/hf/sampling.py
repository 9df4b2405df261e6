"""Sampling one token per row by inverse CDF: ``torch.multinomial`` is slow on a CPU for a large vocabulary.

Hugging Face's ``generate`` samples each next token with ``torch.multinomial(probs, 1)``. On a
CPU that call takes 64 ms for 16 rows of Gemma 3's 262k-token distribution, more than the
decode step itself (bench/cpu_speed.py). Drawing one uniform number per row and finding it in
the row's cumulative distribution samples the same categorical distribution in a tenth of
the time.

``fast_cpu_sampling()`` swaps ``torch.multinomial`` for that draw while a generation runs, for
one sample per row of a CPU tensor; any other call goes to torch's own. The cumulative sum runs
in float32 (float64 costs five times as much): its rounding moves a token's probability by about
1e-7 of the mass before it, which only tokens far below 1e-5 would notice.
"""

from __future__ import annotations

import contextlib
import threading

_lock = threading.Lock()
_depth = 0
_original = None


def inverse_cdf_sample(probs, generator=None):
    """One token index per row of ``probs`` [rows, vocab] (non-negative, rows need not sum to 1),
    or None when a row has no finite positive mass (then torch's own call raises its error)."""
    import torch

    cdf = probs.float().cumsum(-1)
    totals = cdf[:, -1:]  # a NaN or inf anywhere shows here; softmax output is never negative
    if not bool((torch.isfinite(totals) & (totals > 0)).all()):
        return None
    draw = torch.rand(totals.shape, dtype=cdf.dtype, device=probs.device, generator=generator)
    return torch.searchsorted(cdf, draw * totals, right=True).clamp_(max=probs.shape[-1] - 1)


def _multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    if num_samples == 1 and out is None and input.dim() == 2 and input.device.type == "cpu" \
            and input.is_floating_point():
        sample = inverse_cdf_sample(input, generator)
        if sample is not None:
            return sample
    return _original(input, num_samples, replacement, generator=generator, out=out)


@contextlib.contextmanager
def fast_cpu_sampling():
    """While inside, ``torch.multinomial(probs, 1)`` on a CPU samples by inverse CDF (re-entrant)."""
    global _depth, _original
    import torch

    with _lock:
        if _depth == 0:
            _original = torch.multinomial
            torch.multinomial = _multinomial
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                torch.multinomial = _original
