"""Effective bandwidth of a recording: where its spectrum falls off, whatever its container rate.

A 16 kHz file may hold only what an 8 kHz telephone call held; its container
rate says nothing about that. Every low-rate chain (a resampler, an
anti-alias filter, a codec's low-pass) leaves the same mark: a steep edge in
the long-term average spectrum, above which nothing rises back out of the
floor. Natural spectra fall gradually (speech: 6-12 dB per octave), so an
edge is told from a natural roll-off by its steepness:

- the long-term average spectrum (Welch: Hann frames of ~32 Hz resolution,
  half overlap, power summed over channels and frames) is accumulated block
  by block (:class:`SpectrumAccumulator`, constant memory) and smoothed over
  ~150 Hz;
- at each frequency ``f`` the level just below it (the mean, in dB, over
  ``[0.9 f, f]``) is compared with the most the spectrum reaches anywhere
  above ``1.05 f``; the lowest ``f`` where that drop reaches
  :data:`EDGE_DROP_DB` is the edge, and the band is the highest frequency up
  to the end of the edge still within :data:`EDGE_DROP_DB` / 2 of the level
  below it.

The rule depends on neither the absolute level (quiet files, gain) nor the
shape of the content below the edge (spectral tilt, formants), and a noise or
dither floor above the edge only has to sit :data:`EDGE_DROP_DB` under the
content near it. Where no such edge exists the content reaches the Nyquist
frequency. Silence has no band (``None``).
"""

import dataclasses
import math

import numpy as np
from scipy import ndimage

RESOLUTION_HZ = 32.0
SMOOTHING_HZ = 150.0
EDGE_DROP_DB = 25.0
BELOW_FRACTION = 0.1  # the level just below f: the mean over [f (1 - BELOW_FRACTION), f]
GUARD_FRACTIONS = (0.05, 0.2)  # transition bands allowed between the level below and what is left above
DENSE_DB = 15.0  # half the octave below an edge must be this far above everything past it
LOWEST_EDGE_HZ = 200.0
FLOOR_DB = 150.0  # levels are floored this far below the spectrum's peak (float rounding, not signal)
SILENCE_POWER = 1e-14  # mean power per sample (-140 dB full scale) below which a recording holds no signal


@dataclasses.dataclass(frozen=True)
class BandEstimate:
    """``band_hz``: where the content stops (``None`` for silence); ``limited``: an edge was found below
    Nyquist; ``rate``: the container rate it was measured at."""

    band_hz: object
    limited: bool
    rate: float

    @property
    def nyquist(self):
        return self.rate / 2


def frame_length(rate):
    """The FFT length that resolves ``rate`` in bins of at most :data:`RESOLUTION_HZ`."""
    return max(64, 2 ** math.ceil(math.log2(rate / RESOLUTION_HZ)))


class SpectrumAccumulator:
    """The long-term average power spectrum of a stream of (channels, n) blocks, in constant memory."""

    def __init__(self, rate, channels=1):
        self.rate = float(rate)
        self.n_fft = frame_length(rate)
        self.hop = self.n_fft // 2
        self._window = np.hanning(self.n_fft + 1)[:-1].astype(np.float64)
        self._pending = np.zeros((int(channels), 0), dtype=np.float64)
        self._power = np.zeros(self.n_fft // 2 + 1)
        self._frames = 0
        self._samples = 0
        self._energy = 0.0

    def push(self, block):
        block = np.asarray(block, dtype=np.float64)
        if block.ndim == 1:
            block = block[None]
        self._samples += block.shape[1]
        self._energy += float(np.sum(block ** 2))
        self._pending = np.concatenate([self._pending, block], axis=1)
        count = (self._pending.shape[1] - self.n_fft) // self.hop + 1
        if count <= 0:
            return
        starts = np.arange(count) * self.hop
        frames = self._pending[:, starts[:, None] + np.arange(self.n_fft)]  # (channels, count, n_fft)
        spectra = np.abs(np.fft.rfft(frames * self._window, axis=-1)) ** 2
        self._power += spectra.sum(axis=(0, 1))
        self._frames += count
        self._pending = self._pending[:, count * self.hop:]

    def estimate(self):
        """The :class:`BandEstimate` of everything pushed so far."""
        if self._frames == 0 and self._pending.shape[1]:  # shorter than one frame: one zero-padded frame
            pad = np.pad(self._pending, ((0, 0), (0, self.n_fft - self._pending.shape[1])))
            power = (np.abs(np.fft.rfft(pad * self._window, axis=-1)) ** 2).sum(axis=0)
        else:
            power = self._power / max(self._frames, 1)
        if self._samples == 0 or self._energy / self._samples < SILENCE_POWER:
            return BandEstimate(None, False, self.rate)
        return band_of_spectrum(power, self.rate)


def band_of_spectrum(power, rate):
    """The :class:`BandEstimate` of a power spectrum (bins 0..Nyquist, evenly spaced) at ``rate``."""
    power = np.asarray(power, dtype=np.float64)
    bins = power.shape[0]
    bin_hz = rate / 2 / (bins - 1)
    width = max(1, int(round(SMOOTHING_HZ / bin_hz)))
    smooth = np.maximum(ndimage.uniform_filter1d(power, width, mode="nearest"), 0.0)
    level = 10 * np.log10(np.maximum(smooth, smooth.max() * 10 ** (-FLOOR_DB / 10) + 1e-300))
    # level[i]: dB at bin i. above[i]: the most the spectrum reaches at bin i and above.
    above = np.maximum.accumulate(level[::-1])[::-1]
    cumulative = np.concatenate([[0.0], np.cumsum(level)])
    nyquist = rate / 2
    for k in range(max(2, int(LOWEST_EDGE_HZ / bin_hz)), bins):
        start = min(k - 1, int(k * (1 - BELOW_FRACTION)))
        below = (cumulative[k + 1] - cumulative[start]) / (k + 1 - start)
        for guard in GUARD_FRACTIONS:
            guard_end = int(math.ceil(k * (1 + guard)))
            if (guard_end < bins and below - above[guard_end] >= EDGE_DROP_DB
                    and np.median(level[k // 2:k + 1]) - above[guard_end] >= DENSE_DB):
                inside = np.nonzero(level[k:guard_end + 1] >= below - EDGE_DROP_DB / 2)[0]
                band = (k + (inside[-1] if inside.size else 0)) * bin_hz
                return BandEstimate(float(band), True, float(rate))
    return BandEstimate(float(nyquist), False, float(rate))


def estimate_band(audio, rate):
    """The :class:`BandEstimate` of an array: (n,) mono or (n, channels)."""
    audio = np.asarray(audio, dtype=np.float64)
    accumulator = SpectrumAccumulator(rate, 1 if audio.ndim == 1 else audio.shape[1])
    accumulator.push(audio.T if audio.ndim == 2 else audio)
    return accumulator.estimate()
