"""Low-rate recordings and the model input made from them: the one definition of both.

A model never sees a low-rate recording directly: it sees the recording
spline-interpolated back to the high rate (:func:`model_input`). How the
low-rate recording was made is a *method* named here:

- ``decimate``: the study's (Kuleshov et al.'s VCTK preparation): order-8
  Chebyshev I, zero phase. It leaves the top fifth of the low band empty.
- what real files come from: ``soxr`` resampling at its quality levels
  (``soxr`` is librosa's default, HQ), Kaiser-windowed polyphase
  resampling as scipy (``polyphase``) and torchaudio (``polyphase-torchaudio``,
  ``polyphase-kaiser-best``) do it, ``fft`` resampling; an anti-alias IIR
  low-pass (Chebyshev I/II, Butterworth, Bessel, elliptic; zero phase or
  causal) followed by keeping every r-th sample (``butter-causal`` and the
  like: order 8, cut-off at 0.9 of the low Nyquist; ``iir-random`` draws
  family, order 2-10, cut-off 0.7-1.0 and phase); the ``telephone`` band
  (300 Hz up to 0.85 of the low Nyquist, 3.4 kHz at 8 kHz) with 8-bit
  mu-law (or ``telephone-alaw``); and the ``mp3`` and ``vorbis`` codecs (via
  libsndfile, at low rates of 8 kHz and up).

Training draws one method per clip from a *mix* (:data:`MIXES`, or any
comma-separated list of names, :func:`parse_methods`); ``decimate`` alone
reproduces the study. Evaluation makes each reference's input with each named
method in turn. Every method maps a high-rate signal of ``n`` samples to
``ceil(n / ratio)`` low-rate samples, sample ``i`` at high-rate position
``i * ratio`` (before any causal filter's delay, which is part of what such
a recording is).
"""

import dataclasses
import functools
import io
import math

import numpy as np
from scipy import signal

from audiosr.baselines import spline_upsample

SAMPLE_RATE = 16000
SUPPORTED_RATIOS = (2, 3, 4, 6, 8)
STUDY_METHOD = "decimate"


# ------------------------------------------------------------------ the study's decimation


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


# ------------------------------------------------------------------ resamplers


def _soxr(quality):
    def resample(y, ratio, rng):
        import soxr

        return soxr.resample(y, ratio, 1, quality=quality)

    return resample


def _polyphase(y, ratio, rng):
    """scipy.signal.resample_poly's default: a Kaiser (beta 5) windowed sinc, 20 taps per phase."""
    return signal.resample_poly(y, 1, ratio)


@functools.lru_cache(maxsize=None)
def _torchaudio_kernel(ratio, lowpass_filter_width, rolloff, beta):
    """torchaudio.functional.resample's windowed-sinc kernel for decimation by ``ratio``.

    ``beta=None`` is its default Hann window (``sinc_interp_hann``), a number
    its Kaiser window (``sinc_interp_kaiser``); the cut-off is ``rolloff``
    times the low Nyquist and the kernel spans ``lowpass_filter_width``
    zero crossings each side, as in torchaudio's ``_get_sinc_resample_kernel``.
    """
    width = math.ceil(lowpass_filter_width * ratio / rolloff)
    t = np.arange(-width, width + 1) * rolloff / ratio
    t = np.clip(t, -lowpass_filter_width, lowpass_filter_width)
    if beta is None:
        window = np.cos(t * np.pi / lowpass_filter_width / 2) ** 2
    else:
        window = np.i0(beta * np.sqrt(1 - (t / lowpass_filter_width) ** 2)) / np.i0(beta)
    return np.sinc(t) * window * rolloff / ratio


def _fir_decimate(y, ratio, kernel):
    """``signal.resample_poly(y, 1, ratio, window=kernel)`` for a centred odd-length kernel; a long kernel
    (kaiser_best's 273 taps at r = 2) is convolved by FFT, 3-4x faster, the same values to 1e-14."""
    if kernel.shape[0] < 128:
        return signal.resample_poly(y, 1, ratio, window=kernel)
    return signal.fftconvolve(y, kernel)[(kernel.shape[0] - 1) // 2::ratio][:-(-y.shape[0] // ratio)]


def _torchaudio(lowpass_filter_width, rolloff, beta=None):
    def resample(y, ratio, rng):
        return _fir_decimate(y, ratio, _torchaudio_kernel(ratio, lowpass_filter_width, rolloff, beta))

    return resample


def _fft(y, ratio, rng):
    """scipy.signal.resample: truncate the spectrum (a periodic signal is assumed)."""
    return signal.resample(y, math.ceil(y.shape[0] / ratio))


# ------------------------------------------------------------------ IIR low-pass, then every r-th sample

IIR_FAMILIES = ("cheby1", "cheby2", "butter", "bessel", "ellip")
IIR_ORDERS = range(2, 11)
IIR_CUTOFFS = np.round(np.linspace(0.7, 1.0, 13), 3)  # of the low Nyquist; a grid, so designs are cached
NAMED_IIR_ORDER, NAMED_IIR_CUTOFF = 8, 0.9


@functools.lru_cache(maxsize=None)
def iir_lowpass(family, order, cutoff, ratio):
    """Second-order sections of a ``family`` low-pass, cut-off ``cutoff`` x the low-rate Nyquist.

    The ripples and stop-band depths are common analogue-front-end choices:
    Chebyshev I 1 dB, Chebyshev II 60 dB down from ``cutoff`` on, elliptic
    0.5 dB / 60 dB; the Bessel is normalised to -3 dB at ``cutoff``.
    """
    wn = min(float(cutoff) / ratio, 0.999)
    design = {
        "cheby1": lambda: signal.cheby1(order, 1.0, wn, output="sos"),
        "cheby2": lambda: signal.cheby2(order, 60.0, wn, output="sos"),
        "butter": lambda: signal.butter(order, wn, output="sos"),
        "bessel": lambda: signal.bessel(order, wn, norm="mag", output="sos"),
        "ellip": lambda: signal.ellip(order, 0.5, 60.0, wn, output="sos"),
    }
    if family not in design:
        raise ValueError(f"unknown IIR family {family!r}; choose from {IIR_FAMILIES}")
    return design[family]()


def iir_decimate(y, ratio, family, order, cutoff, zero_phase):
    """Low-pass ``y`` with :func:`iir_lowpass` (forward-backward if ``zero_phase``), keep every r-th sample."""
    sos = iir_lowpass(family, int(order), float(cutoff), int(ratio))
    filtered = signal.sosfiltfilt(sos, y) if zero_phase else signal.sosfilt(sos, y)
    return filtered[::ratio]


def _iir(family, zero_phase):
    def make(y, ratio, rng):
        return iir_decimate(y, ratio, family, NAMED_IIR_ORDER, NAMED_IIR_CUTOFF, zero_phase)

    return make


def design_filters(methods, ratio):
    """Design (and cache) every IIR low-pass the method names ``methods`` can draw at ``ratio``.

    ``iir-random`` draws from a grid of 585 designs per ratio, 1-3 s to
    design on a 2-core CPU; a training pipeline designs them before its
    first batch, so its speed does not sag for minutes while the cache fills.
    """
    if "iir-random" in methods:
        for family in IIR_FAMILIES:
            for order in IIR_ORDERS:
                for cutoff in IIR_CUTOFFS:
                    iir_lowpass(family, int(order), float(cutoff), int(ratio))


def _iir_random(y, ratio, rng):
    """An IIR low-pass of a random family, order (2-10), cut-off (0.7-1.0) and phase."""
    family = IIR_FAMILIES[rng.integers(len(IIR_FAMILIES))]
    return iir_decimate(y, ratio, family, rng.choice(IIR_ORDERS), rng.choice(IIR_CUTOFFS), bool(rng.integers(2)))


# ------------------------------------------------------------------ telephone band and companding

TELEPHONE_LOW_HZ = 300.0
TELEPHONE_TOP = 0.85  # of the low Nyquist: 3.4 kHz at 8 kHz


def mu_law(x, mu=255):
    """8-bit mu-law (G.711) encode and decode: what a telephone channel does to samples in [-1, 1]."""
    x = np.clip(x, -1.0, 1.0)
    code = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127.0) / 127.0
    return np.sign(code) * np.expm1(np.abs(code) * np.log1p(mu)) / mu


def a_law(x, a=87.6):
    """8-bit A-law (G.711) encode and decode of samples in [-1, 1]."""
    x = np.clip(x, -1.0, 1.0)
    ax, log_a = np.abs(x) * a, 1.0 + np.log(a)
    compressed = np.where(ax < 1.0, ax / log_a, (1.0 + np.log(np.maximum(ax, 1.0))) / log_a)
    code = np.round(compressed * 127.0) / 127.0
    expanded = np.where(code < 1.0 / log_a, code * log_a / a, np.exp(code * log_a - 1.0) / a)
    return np.sign(x) * expanded


@functools.lru_cache(maxsize=None)
def _telephone_band(ratio):
    low = TELEPHONE_LOW_HZ / (SAMPLE_RATE / 2)
    return signal.butter(6, [low, TELEPHONE_TOP / ratio], btype="bandpass", output="sos")


def _telephone(companding):
    def make(y, ratio, rng):
        band = signal.sosfilt(_telephone_band(ratio), y)[::ratio]
        return companding(band)

    return make


# ------------------------------------------------------------------ lossy codecs (libsndfile)


def _codec(format, subtype):
    def make(y, ratio, rng):
        import soundfile

        low = signal.resample_poly(y, 1, ratio)
        rate = SAMPLE_RATE // ratio
        buffer = io.BytesIO()
        try:
            soundfile.write(buffer, np.clip(low, -1.0, 1.0).astype(np.float32), rate, format=format, subtype=subtype)
        except Exception as error:  # libsndfile refuses rates its codec lacks (mp3 below 8 kHz)
            raise ValueError(f"{subtype} cannot encode {rate} Hz audio: {error}") from error
        buffer.seek(0)
        decoded = soundfile.read(buffer, dtype="float64")[0]
        return decoded

    return make


# ------------------------------------------------------------------ the registry


@dataclasses.dataclass(frozen=True)
class LowRateMethod:
    """One way of making a low-rate recording: ``make(y, ratio, rng)`` -> low-rate samples."""

    name: str
    make: object
    description: str
    random: bool = False  # draws parameters from ``rng``
    min_low_rate: int = 0  # the lowest low rate it can make (codecs)


def _methods():
    methods = [
        LowRateMethod("decimate", lambda y, ratio, rng: decimate(y, ratio),
                      "scipy.signal.decimate: order-8 Chebyshev I, zero phase (the study's)"),
        LowRateMethod("soxr", _soxr("HQ"), "soxr HQ resampling (librosa's default)"),
        *[LowRateMethod(f"soxr-{q.lower()}", _soxr(q), f"soxr {q} resampling") for q in ("VHQ", "MQ", "LQ", "QQ")],
        LowRateMethod("polyphase", _polyphase, "scipy.signal.resample_poly: Kaiser (beta 5) polyphase"),
        LowRateMethod("polyphase-torchaudio", _torchaudio(6, 0.99),
                      "torchaudio.functional.resample's default: Hann-windowed sinc, 6 zero crossings, rolloff 0.99"),
        LowRateMethod("polyphase-kaiser-best", _torchaudio(64, 0.9475937167399596, 14.769656459379492),
                      "torchaudio's kaiser_best: Kaiser sinc, 64 zero crossings, rolloff 0.948"),
        LowRateMethod("fft", _fft, "scipy.signal.resample: FFT truncation"),
        *[LowRateMethod(f"{family}-{phase}", _iir(family, phase == "zerophase"),
                        f"{family} order {NAMED_IIR_ORDER} low-pass at {NAMED_IIR_CUTOFF} of the low Nyquist, "
                        f"{'zero phase' if phase == 'zerophase' else 'causal'}, then every r-th sample")
          for family in IIR_FAMILIES for phase in ("causal", "zerophase")],
        LowRateMethod("iir-random", _iir_random, "a random IIR low-pass (family, order 2-10, cut-off 0.7-1.0 of "
                      "the low Nyquist, zero phase or causal), then every r-th sample", random=True),
        LowRateMethod("telephone", _telephone(mu_law), "telephone band (300 Hz to 0.85 of the low Nyquist, causal) "
                      "and 8-bit mu-law"),
        LowRateMethod("telephone-alaw", _telephone(a_law), "telephone band and 8-bit A-law"),
        LowRateMethod("mp3", _codec("MP3", "MPEG_LAYER_III"), "polyphase, then MP3 (libsndfile / LAME)",
                      min_low_rate=8000),
        LowRateMethod("vorbis", _codec("OGG", "VORBIS"), "polyphase, then Ogg Vorbis (libsndfile)",
                      min_low_rate=8000),
    ]
    return {method.name: method for method in methods}


METHODS = _methods()
# Named mixes for training: one method drawn per clip.
MIXES = {
    "study": (STUDY_METHOD,),
    # What real low-rate files come from: resamplers, anti-alias filters of every kind, the study's decimation.
    "real": ("decimate", "soxr", "soxr-vhq", "soxr-mq", "soxr-lq", "polyphase", "polyphase-torchaudio",
             "polyphase-kaiser-best", "fft", "iir-random", "iir-random", "iir-random"),
}
# The input makers every shipped model is scored on.
EVALUATION_METHODS = ("decimate", "soxr", "polyphase", "fft", "butter-causal", "telephone")


def parse_methods(text, ratio=None):
    """Method names from ``"soxr,fft"`` or a mix name (``"real"``); raises ValueError naming what is unknown,
    or, given ``ratio``, what cannot make that low rate (:func:`check_method`)."""
    names = []
    for item in (part.strip() for part in str(text).split(",")):
        if item in MIXES:
            names.extend(MIXES[item])
        elif item in METHODS:
            names.append(item)
        else:
            raise ValueError(f"unknown low-rate method {item!r}; choose from {', '.join(METHODS)} "
                             f"or a mix ({', '.join(MIXES)})")
    if ratio is not None:
        for name in dict.fromkeys(names):
            check_method(name, ratio)
    return tuple(names)


def is_study(methods):
    """Whether method names ``methods`` (from :func:`parse_methods`) are the study's decimation alone."""
    return set(methods) == {STUDY_METHOD}


def check_method(name, ratio, sample_rate=SAMPLE_RATE):
    """The :class:`LowRateMethod` called ``name``; ValueError if unknown or if it cannot make the low rate."""
    if name not in METHODS:
        raise ValueError(f"unknown low-rate method {name!r}; choose from {', '.join(METHODS)}")
    method = METHODS[name]
    if sample_rate / ratio < method.min_low_rate:
        raise ValueError(f"{name} cannot make {sample_rate / ratio:g} Hz audio "
                         f"(needs {method.min_low_rate} Hz or more)")
    return method


def lowrate(y, ratio, method=STUDY_METHOD, rng=None):
    """The low-rate recording ``method`` makes of the high-rate signal ``y``: ``ceil(len(y) / ratio)`` float32
    samples. ``rng`` (a numpy Generator, default seed 0) draws a random method's parameters."""
    ratio = int(ratio)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if ratio == 1:
        return y.astype(np.float32)
    maker = check_method(method, ratio)
    x = np.asarray(maker.make(y, ratio, rng if rng is not None else np.random.default_rng(0)), dtype=np.float64)
    length = -(-y.shape[0] // ratio)
    x = x[:length] if x.shape[0] >= length else np.pad(x, (0, length - x.shape[0]))
    return x.astype(np.float32)


def model_input(x_lowrate, ratio, length=None):
    """What a model sees of a low-rate recording (or of a batch of them, one per row): its cubic spline at
    ``ratio`` times the rate."""
    return spline_upsample(x_lowrate, ratio, length=length)


def simulate_lowres(y, ratio, method=STUDY_METHOD, rng=None):
    """The network input for high-res ``y``: the low-rate recording ``method`` makes, splined back.

    Returns a float32 array of ``len(y)`` samples at the high rate.
    """
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    return model_input(lowrate(y, ratio, method, rng), ratio, length=y.shape[0])


def simulate_lowres_batch(y, ratio, methods, seeds):
    """Network inputs for a batch of high-res clips ``y`` (one per row), each made by a method drawn at random.

    Row ``i`` draws its method uniformly over the names ``methods`` (a name
    listed twice is drawn twice as often) and any random parameters of it
    from a numpy Generator seeded with ``seeds[i]`` (a sequence of integers),
    so the same seeds give the same inputs, whatever the batch around them.
    The whole batch is splined at once. Returns float32, the shape of ``y``.
    """
    y = np.asarray(y, dtype=np.float32)
    rngs = [np.random.default_rng([int(v) % 2 ** 64 for v in np.ravel(seed)]) for seed in seeds]
    low = np.stack([lowrate(row, ratio, methods[rng.integers(len(methods))], rng) for row, rng in zip(y, rngs)])
    return model_input(low, ratio, length=y.shape[-1])
