"""The low-resolution simulation: the one definition of a model's input.

Training, evaluation, benchmarks and the command line all make their
low-res inputs here, so a number in one place means the same everywhere.
"""

import functools

import numpy as np
from scipy import signal

from audiosr.baselines import spline_upsample

SAMPLE_RATE = 16000
SUPPORTED_RATIOS = (2, 3, 4, 6, 8)


@functools.lru_cache(maxsize=None)
def _antialias_filter(ratio):
    """scipy.signal.decimate's IIR filter (order-8 Chebyshev I, 0.05 dB ripple), designed once."""
    return signal.cheby1(8, 0.05, 0.8 / ratio, output="sos")


def decimate(y, ratio):
    """Anti-aliased decimation by ``ratio``: order-8 Chebyshev I, zero phase.

    This is how Kuleshov et al. made VCTK's low-res inputs; it computes
    ``scipy.signal.decimate(y, ratio, n=8, ftype="iir", zero_phase=True)``
    without redesigning the filter on every call.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if ratio == 1:
        return y.astype(np.float32)
    return signal.sosfiltfilt(_antialias_filter(int(ratio)), y)[:: int(ratio)].astype(np.float32)


def simulate_lowres(y, ratio):
    """The network input for high-res ``y``: decimate, then spline back.

    Returns a float32 array of ``len(y)`` samples at the high rate.
    """
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    return spline_upsample(decimate(y, ratio), ratio, length=y.shape[0])
