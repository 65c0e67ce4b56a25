"""The safety net: does a model's output fit the input's own spectrum?

A model sees a low-rate input that carries a band ``b`` and returns a
full-band output. Two things about that output can be checked against the
input, frame by frame (Hann, ~64 ms, half overlap, at the output rate):

- *the band the input already carries*: in its top octave ``[b / 2, b]``
  the output should hold what the input holds. Real speech scored as if it
  were the output stays within a few dB of its band-limited input there
  (``python bench/bench_safety.py --calibrate``); a frame that gains more
  than :data:`IN_BAND_DB` has been changed, not extended;
- *the band it adds*: above ``b`` the input's envelope near its top predicts
  how much energy is plausible: with ``e2`` in ``[b / 2, b]`` and ``e1`` in
  the octave below, each octave up to the output's Nyquist frequency is
  extrapolated to hold ``g = e2 / e1`` (at most :data:`MAX_OCTAVE_GAIN`)
  times the one below. Speech fits this loosely (a fricative's energy rises
  above 4 kHz whatever lies below), so a frame is flagged only beyond
  :data:`ABOVE_DB_PER_OCTAVE` per octave extrapolated.

Single frames prove little; the verdict is per file: more than
:data:`IMPLAUSIBLE_SHARE` of the (non-silent) frames flagged makes a file
*implausible*, and ``audiosr upsample`` then writes the spline instead. The
figures behind this choice, and why frames are not replaced one by one, are
in docs/upsampling.md.

:class:`SafetyNet` scores aligned (input, output) blocks as they stream by,
in constant memory.
"""

import math

import numpy as np

FRAME_SECONDS = 0.064
IN_BAND_DB = 6.0
ABOVE_DB_PER_OCTAVE = 15.0
MAX_OCTAVE_GAIN = 4.0  # a spectrum rising faster than 6 dB per octave is not extrapolated further
IMPLAUSIBLE_SHARE = 0.5
HISTOGRAM_BINS = np.arange(-60.0, 80.0, 0.5)  # of the in-band gain, dB
FLOOR_POWER = 1e-8  # mean power per sample (-80 dB full scale): quieter frames are never flagged


def frame_length(rate):
    return 2 ** int(round(math.log2(rate * FRAME_SECONDS)))


class SafetyNet:
    """Frame-wise plausibility of a model's output against its (spline) input, streamed.

    ``rate``: the output rate; ``band_hz``: the band the input carries (at
    most the low-rate Nyquist frequency). ``push(spline, output)`` takes
    aligned (channels, n) blocks; ``finish()`` scores the last frames.
    It counts frames and flagged frames and keeps a histogram of the
    in-band gain (constant memory); with ``keep=True`` also the per-frame
    scores ``in_band_db`` and ``above_db`` (the largest over channels of the
    output's gain in ``[b / 2, b]`` and of its excess over the extrapolation
    above ``b``; NaN for silent frames), for analysis.
    """

    def __init__(self, rate, channels, band_hz, keep=False):
        self.rate = float(rate)
        self.band_hz = float(band_hz)
        self.n = frame_length(rate)
        self.hop = self.n // 2
        freqs = np.fft.rfftfreq(self.n, 1.0 / self.rate)
        self._top = (freqs >= band_hz / 2) & (freqs < band_hz)
        self._below_top = (freqs >= band_hz / 4) & (freqs < band_hz / 2)
        self._above = freqs >= band_hz
        octaves = math.log2(self.rate / 2 / band_hz)
        self._octaves = max(1, math.ceil(octaves))
        self.above_limit_db = ABOVE_DB_PER_OCTAVE * max(octaves, 1.0)
        self._window = np.hanning(self.n + 1)[:-1]
        self._floor = FLOOR_POWER * np.sum(self._window ** 2) * self.n / 4  # a quarter band's |rfft|^2 at that power
        self._spline = np.zeros((channels, self.hop), dtype=np.float32)  # frames start one hop early
        self._output = self._spline.copy()
        self.frames = self.flagged = 0
        self._histogram = np.zeros(HISTOGRAM_BINS.size + 1, dtype=np.int64)
        self.keep = keep
        self.in_band_db, self.above_db = [], []

    def push(self, spline, output):
        self._spline = np.concatenate([self._spline, np.asarray(spline, dtype=np.float32)], axis=1)
        self._output = np.concatenate([self._output, np.asarray(output, dtype=np.float32)], axis=1)
        done = 0
        while done + self.n <= self._spline.shape[1]:
            frame = slice(done, done + self.n)
            in_band, above = self.frame_scores(self._spline[:, frame], self._output[:, frame])
            scored = bool(np.any(np.isfinite(in_band)))
            in_band, above = (float(np.nanmax(in_band)), float(np.nanmax(above))) if scored else (np.nan, np.nan)
            if scored:
                self.frames += 1
                self.flagged += in_band > IN_BAND_DB or above > self.above_limit_db
                self._histogram[np.searchsorted(HISTOGRAM_BINS, in_band)] += 1
            if self.keep:  # every frame, silent ones as NaN, so index i is the frame starting at (i - 1) hops
                self.in_band_db.append(in_band)
                self.above_db.append(above)
            done += self.hop
        self._spline, self._output = self._spline[:, done:], self._output[:, done:]

    def finish(self):
        zeros = np.zeros((self._spline.shape[0], self.hop), dtype=np.float32)
        self.push(zeros, zeros)

    def frame_scores(self, spline_frame, output_frame):
        """Per channel: the output's gain over the input in [b/2, b] and its excess over the extrapolated
        envelope above b, in dB (NaN where input and output are below the floor: silence is not judged)."""
        spectrum_in = np.abs(np.fft.rfft(spline_frame * self._window, axis=-1)) ** 2
        spectrum_out = np.abs(np.fft.rfft(output_frame * self._window, axis=-1)) ** 2
        top_in, top_out = spectrum_in[:, self._top].sum(axis=-1), spectrum_out[:, self._top].sum(axis=-1)
        gain = np.minimum(top_in / (spectrum_in[:, self._below_top].sum(axis=-1) + 1e-30), MAX_OCTAVE_GAIN)
        predicted = top_in * sum(gain ** k for k in range(1, self._octaves + 1))
        above = spectrum_out[:, self._above].sum(axis=-1)
        active = np.maximum(np.maximum(top_in, top_out), above) > self._floor
        in_band = 10 * np.log10((top_out + self._floor) / (top_in + self._floor))
        excess = 10 * np.log10((above + self._floor) / (predicted + self._floor))
        return np.where(active, in_band, np.nan), np.where(active, excess, np.nan)

    def frame_flags(self):
        """Per kept frame (``keep=True``): its output changed the input's band, or added implausibly much above."""
        return (np.asarray(self.in_band_db) > IN_BAND_DB) | (np.asarray(self.above_db) > self.above_limit_db)

    @property
    def flagged_share(self):
        return self.flagged / self.frames if self.frames else 0.0

    @property
    def implausible(self):
        return self.flagged_share > IMPLAUSIBLE_SHARE

    @property
    def median_in_band_db(self):
        """The median over frames of the output's gain in [b/2, b] (to the histogram's 0.5 dB)."""
        if not self.frames:
            return 0.0
        index = int(np.searchsorted(np.cumsum(self._histogram), (self.frames + 1) // 2))
        return float(HISTOGRAM_BINS[min(index, HISTOGRAM_BINS.size - 1)])


def score(spline, output, rate, band_hz):
    """A finished :class:`SafetyNet` over two whole aligned mono signals."""
    net = SafetyNet(rate, 1, band_hz, keep=True)
    net.push(np.asarray(spline)[None], np.asarray(output)[None])
    net.finish()
    return net
