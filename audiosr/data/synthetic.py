"""The embedded default data set: speech-like and chirp signals made on the fly.

It lets the main job, the tests and the benchmarks run with nothing
downloaded. Signals have real high-band structure (harmonics up to Nyquist
shaped by moving formants, fricative noise, harmonic chirps), so that a model
can beat spline on them only by learning something about the upper band.
"""

import numpy as np

from audiosr.lowres import SAMPLE_RATE


def _smooth_curve(rng, n, low, high, knots=6):
    """A slowly wandering curve between ``low`` and ``high`` over ``n`` samples."""
    points = rng.uniform(low, high, size=knots)
    return np.interp(np.linspace(0, knots - 1, n), np.arange(knots), points)


def _syllable_envelope(rng, n, rate):
    """Amplitude envelope of ~3-6 syllables per second."""
    syllable_rate = rng.uniform(3.0, 6.0)
    t = np.arange(n) / rate
    env = 0.5 * (1 - np.cos(2 * np.pi * syllable_rate * t + rng.uniform(0, 2 * np.pi)))
    return env**1.5


def speech_like(rng, num_samples, rate=SAMPLE_RATE):
    """Voiced harmonics through moving formants, plus bursts of fricative noise."""
    f0 = _smooth_curve(rng, num_samples, *sorted(rng.uniform(85, 260, size=2)))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    formants = [_smooth_curve(rng, num_samples, lo, hi) for lo, hi in ((300, 900), (900, 2500), (2400, 3500), (3500, 6500))]
    widths = (120.0, 200.0, 300.0, 600.0)
    gains = (1.0, 0.5, 0.25, 0.12)
    voiced = np.zeros(num_samples)
    for k in range(1, int(rate / 2 / f0.min())):
        freq = k * f0
        amp = sum(g * np.exp(-0.5 * ((freq - f) / w) ** 2) for f, w, g in zip(formants, widths, gains))
        amp = (amp + 0.02) * (freq < rate / 2 - 200)
        voiced += amp * np.sin(k * phase)
    spectrum = np.fft.rfft(rng.standard_normal(num_samples))
    freqs = np.fft.rfftfreq(num_samples, 1 / rate)
    spectrum *= (freqs > rng.uniform(2500, 4500)) * (freqs < rate / 2 - 200)
    fricative = np.fft.irfft(spectrum, n=num_samples)
    fricative *= _smooth_curve(rng, num_samples, 0, 1) ** 3
    x = _syllable_envelope(rng, num_samples, rate) * voiced / (np.abs(voiced).max() + 1e-9)
    x += 0.25 * fricative / (np.abs(fricative).max() + 1e-9)
    return x


def harmonic_chirp(rng, num_samples, rate=SAMPLE_RATE):
    """A logarithmic sweep with a few decaying harmonics, kept below Nyquist."""
    start, stop = rng.uniform(80, 400), rng.uniform(1000, 4000)
    t = np.arange(num_samples) / rate
    duration = num_samples / rate
    inst = start * (stop / start) ** (t / duration)
    phase = 2 * np.pi * np.cumsum(inst) / rate
    x = np.zeros(num_samples)
    for k in range(1, 6):
        x += (0.6**k) * (k * inst < rate / 2 - 200) * np.sin(k * phase)
    return x


def generate_clip(rng, num_samples, rate=SAMPLE_RATE, peak=0.9):
    """One clip (float32, peak-normalised) from a random generator: 3 in 4 speech-like."""
    make = speech_like if rng.uniform() < 0.75 else harmonic_chirp
    x = make(rng, num_samples, rate)
    return (peak * x / (np.abs(x).max() + 1e-9)).astype(np.float32)


def generate_clips(count, num_samples, rate=SAMPLE_RATE, seed=0):
    """``count`` clips as a (count, num_samples) float32 array, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return np.stack([generate_clip(rng, num_samples, rate) for _ in range(count)])
