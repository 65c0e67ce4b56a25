"""Interpolation baselines that every model must beat.

Sample ``i`` of a signal decimated by ``r`` sits at high-rate position
``i * r`` (scipy.signal.decimate keeps every r-th sample of the filtered
signal), so both baselines place the low-rate samples there.
"""

import numpy as np
from scipy import interpolate, signal


def _check(x_lr, ratio):
    x_lr = np.asarray(x_lr, dtype=np.float64).reshape(-1)
    if ratio < 1 or int(ratio) != ratio:
        raise ValueError(f"ratio must be a positive integer, got {ratio}")
    if x_lr.shape[0] < 4:
        raise ValueError(f"need at least 4 low-rate samples to interpolate, got {x_lr.shape[0]}")
    return x_lr, int(ratio)


def spline_upsample(x_lr, ratio, length=None):
    """Cubic-spline interpolation of ``x_lr`` to ``ratio`` times its rate.

    ``length`` (default ``len(x_lr) * ratio``) lets callers recover a
    high-rate signal whose length was not a multiple of ``ratio``.
    """
    x_lr, ratio = _check(x_lr, ratio)
    length = x_lr.shape[0] * ratio if length is None else int(length)
    knots = np.arange(x_lr.shape[0]) * ratio
    spline = interpolate.splrep(knots, x_lr)
    return interpolate.splev(np.arange(length), spline).astype(np.float32)


def sinc_upsample(x_lr, ratio, length=None):
    """Band-limited (Kaiser-windowed sinc, polyphase) interpolation."""
    x_lr, ratio = _check(x_lr, ratio)
    length = x_lr.shape[0] * ratio if length is None else int(length)
    y = signal.resample_poly(x_lr, ratio, 1)
    if y.shape[0] < length:
        y = np.pad(y, (0, length - y.shape[0]))
    return y[:length].astype(np.float32)


BASELINES = {"spline": spline_upsample, "sinc": sinc_upsample}
