"""Interpolation baselines that every model must beat.

Sample ``i`` of a signal decimated by ``r`` sits at high-rate position
``i * r`` (scipy.signal.decimate keeps every r-th sample of the filtered
signal), so both baselines place the low-rate samples there.
"""

import functools

import numpy as np
from scipy import linalg, signal


def _check(x_lr, ratio, rows=False):
    """``x_lr`` as float64 (one signal; with ``rows``, also a batch of signals, one per row) and ``ratio``."""
    x_lr = np.asarray(x_lr, dtype=np.float64)
    if not (rows and x_lr.ndim == 2):
        x_lr = x_lr.reshape(-1)
    if ratio < 1 or int(ratio) != ratio:
        raise ValueError(f"ratio must be a positive integer, got {ratio}")
    if x_lr.shape[-1] < 4:
        raise ValueError(f"need at least 4 low-rate samples to interpolate, got {x_lr.shape[-1]}")
    return x_lr, int(ratio)


@functools.lru_cache(maxsize=64)
def _not_a_knot_system(n):
    """Banded matrix of the slopes of the not-a-knot cubic spline through ``n`` unit-spaced samples."""
    bands = np.empty((3, n))
    bands[0], bands[1], bands[2] = 1.0, 4.0, 1.0  # interior rows: s[i-1] + 4 s[i] + s[i+1]
    bands[0, 1], bands[1, 0], bands[1, -1], bands[2, -2] = 2.0, 1.0, 1.0, 2.0  # the two end rows
    bands.setflags(write=False)
    return bands


def spline_upsample(x_lr, ratio, length=None):
    """Cubic-spline interpolation of ``x_lr`` to ``ratio`` times its rate.

    The spline is scipy's interpolating cubic (``splrep`` with ``s=0`` and
    ``CubicSpline`` agree: not-a-knot ends), extrapolated past the last
    sample by its last piece. ``x_lr`` is one signal or a batch of them, one
    per row (training splines a whole batch at once: the knots are evenly
    spaced, so one banded solve for every row, then each piece's polynomial
    at the ``ratio`` offsets). ``length`` (default ``len(x_lr) * ratio``)
    lets callers recover a high-rate signal whose length was not a multiple
    of ``ratio``.
    """
    x, ratio = _check(x_lr, ratio, rows=True)
    n = x.shape[-1]
    length = n * ratio if length is None else int(length)
    step = np.diff(x, axis=-1)
    rhs = np.empty(x.shape)
    rhs[..., 0] = 2.5 * step[..., 0] + 0.5 * step[..., 1]
    rhs[..., 1:-1] = 3.0 * (step[..., :-1] + step[..., 1:])
    rhs[..., -1] = 0.5 * step[..., -2] + 2.5 * step[..., -1]
    slope = linalg.solve_banded((1, 1), _not_a_knot_system(n), rhs.reshape(-1, n).T, overwrite_b=True,
                                check_finite=False).T.reshape(x.shape)
    # Piece i between samples i and i+1, at offset u in [0, 1): coefficients of 1, u, u^2, u^3.
    pieces = np.empty(x.shape[:-1] + (n - 1, 4))
    pieces[..., 0], pieces[..., 1] = x[..., :-1], slope[..., :-1]
    pieces[..., 3] = slope[..., :-1] + slope[..., 1:] - 2.0 * step
    pieces[..., 2] = step - slope[..., :-1] - pieces[..., 3]

    def powers(u):
        return u ** np.arange(4)[:, None]

    body = (pieces @ powers(np.arange(ratio) / ratio)).reshape(x.shape[:-1] + (-1,))[..., :length]
    beyond = np.arange((n - 1) * ratio, length)
    tail = pieces[..., -1, :] @ powers((beyond - (n - 2) * ratio) / ratio)
    return np.concatenate([body, tail], axis=-1).astype(np.float32)


def sinc_upsample(x_lr, ratio, length=None):
    """Band-limited (Kaiser-windowed sinc, polyphase) interpolation."""
    x_lr, ratio = _check(x_lr, ratio)
    length = x_lr.shape[0] * ratio if length is None else int(length)
    y = signal.resample_poly(x_lr, ratio, 1)
    if y.shape[0] < length:
        y = np.pad(y, (0, length - y.shape[0]))
    return y[:length].astype(np.float32)


BASELINES = {"spline": spline_upsample, "sinc": sinc_upsample}
