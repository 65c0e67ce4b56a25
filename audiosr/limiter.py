"""A look-ahead peak limiter: what keeps an upsampled recording inside [-1, 1] without clipping it.

Upsampling a recording that peaks near full scale raises its peaks: the band
a model (or a spline) adds puts inter-sample peaks back between the samples,
and the low-rate file itself may hold samples past 1.0. A fixed-point file
cannot store them; cutting them off (hard clipping) adds harmonics across
the band. A limiter lowers the gain smoothly around each peak instead.

For every sample the gain that brings it to the ceiling is ``min(1, ceiling
/ |x|)`` (the largest over channels, one gain for all of them so the stereo
image stays put); the gain applied is that requirement's minimum over
``[t - L, t + L]``, averaged over ``[t - L, t + L]`` again, with ``L``
= :data:`LOOKAHEAD_SECONDS`. The average of minima that each include ``t``
never exceeds the requirement at ``t``, so no sample passes the ceiling,
the gain changes over ``4 L`` (a few milliseconds, no click), and samples
farther than ``2 L`` from any peak are left exactly as they were.
:class:`PeakLimiter` does this on a stream, ``2 L`` samples behind it.
"""

import numpy as np
from scipy import ndimage

LOOKAHEAD_SECONDS = 0.002
CEILING = 1.0


class PeakLimiter:
    """Stream (channels, n) blocks through ``push``; ``push(..., last=True)`` returns the rest.

    ``over`` counts the samples that were past the ceiling and ``peak`` is
    the largest magnitude seen.
    """

    def __init__(self, rate, channels, ceiling=CEILING, lookahead_seconds=LOOKAHEAD_SECONDS):
        self.ceiling = float(ceiling)
        self.half = max(1, int(round(lookahead_seconds * rate)))
        self._pending = np.zeros((int(channels), 0), dtype=np.float32)
        self._past = np.ones(2 * self.half)  # the requirement of the 2 L samples already returned
        self.over = 0
        self.peak = 0.0

    def push(self, block, last=False):
        block = np.asarray(block, dtype=np.float32)
        self._pending = np.concatenate([self._pending, block], axis=1)
        magnitude = np.abs(self._pending).max(axis=0) if self._pending.shape[0] else np.zeros(0)
        if block.size:
            self.over += int(np.count_nonzero(np.abs(block).max(axis=0) > self.ceiling))
            self.peak = max(self.peak, float(np.abs(block).max()))
        required = np.minimum(1.0, self.ceiling / np.maximum(magnitude, 1e-30))
        ahead = np.ones(2 * self.half) if last else np.zeros(0)  # silence after the end
        window = np.concatenate([self._past, required, ahead])
        ready = self._pending.shape[1] if last else self._pending.shape[1] - 2 * self.half
        if ready <= 0:
            return self._pending[:, :0]
        size = 2 * self.half + 1
        deficit = 1.0 - ndimage.minimum_filter1d(window, size, mode="nearest")
        deficit = ndimage.uniform_filter1d(deficit, size, mode="nearest")[2 * self.half:2 * self.half + ready]
        gain = np.where(deficit > 1e-9, 1.0 - deficit, 1.0)
        out = self._pending[:, :ready] * gain.astype(np.float32)
        self._past = window[ready:ready + 2 * self.half]
        self._pending = self._pending[:, ready:]
        return out
