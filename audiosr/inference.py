"""Upsampling whole recordings: overlapping chunks, cross-fades, constant memory.

A signal of any length goes through the network in windows of
``chunk_samples`` that overlap by ``overlap_samples``. Window starts are
multiples of the generator's total stride, so each window sees the sample
grid a whole-file pass would see; the first and last quarter of every overlap
(the part a window edge can disturb) are dropped and the middle half is
cross-faded with a raised cosine. Away from the ends of the file the result
therefore equals a whole-file pass up to float rounding: no seams.

:func:`upsample_file` streams a file through the same machinery block by
block (read, resample to the model's input rate, spline to the output rate,
enhance, score with the safety net, limit the peaks, write), so memory stays
bounded by the chunk and batch sizes, not by the recording's length;
:func:`upsample_stream` is that path for any source of blocks and any sink
(arrays use it too), and :func:`copy_file` the pass-through.
"""

import collections
import math
import os

import numpy as np

from audiosr.atomic import remove_stale_partials
from audiosr.audio_io import AtomicAudioWriter, AudioFileError, AudioReader, StreamResampler
from audiosr.baselines import spline_upsample
from audiosr.limiter import PeakLimiter
from audiosr.safety import SafetyNet

DEFAULT_CHUNK_SAMPLES = 65536
DEFAULT_OVERLAP_SAMPLES = 4096
DEFAULT_BATCH_SIZE = 2
PRECISIONS = ("float32", "bfloat16")
# A cubic spline's dependence on a knot decays by ~0.27 per knot: 32 knots of
# context on each side reproduce the whole-signal spline to float32 precision.
SPLINE_CONTEXT = 32
MIN_LOWRATE_SAMPLES = 16
READ_BLOCK_SECONDS = 2.0
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
_SAMPLE_SUBTYPES = ("PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", *_FLOAT_SUBTYPES)


def load_model(path):
    """Load an audiosr ``.keras`` model; its ratio and rates travel inside the file."""
    import keras

    import audiosr.models  # noqa: F401  (registers UNetSR, GANSR, WGANSR, SubPixel1D)

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such model file")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a bad archive
        raise ValueError(f"{path}: not a readable .keras model ({error})") from error
    if not all(hasattr(model, name) for name in ("ratio", "sample_rate", "length_multiple")):
        raise ValueError(f"{path}: not an audiosr model (it carries no ratio and sample rate)")
    return model


# ---------------------------------------------------------------- the network


_PREDICTORS = collections.OrderedDict()
_MAX_PREDICTORS = 4


def make_predictor(model, precision="float32"):
    """A compiled ``f(x)`` for float32 (batch, T, 1) numpy arrays, run with training=False.

    Calls ``model.generator`` when the model has one (the SR models), else the
    model itself. ``precision="bfloat16"`` computes the network in bfloat16
    (weights and the residual sum stay float32): about 3x faster on CPUs with
    native bfloat16 (AVX512-BF16, AMX), slower elsewhere. Compiled functions
    are cached for the last few models.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    key = (id(model), precision)
    if key not in _PREDICTORS:
        _PREDICTORS[key] = (model, _compile(getattr(model, "generator", model), precision))
        while len(_PREDICTORS) > _MAX_PREDICTORS:
            _PREDICTORS.popitem(last=False)
    _PREDICTORS.move_to_end(key)
    return _PREDICTORS[key][1]


def _compile(network, precision):
    import tensorflow as tf

    forward = _bfloat16_forward(network) if precision == "bfloat16" else lambda x: network(x, training=False)
    compiled = tf.function(forward, input_signature=[tf.TensorSpec([None, None, 1], tf.float32)])
    return lambda x: compiled(np.asarray(x, dtype=np.float32)).numpy()


def _bfloat16_forward(network):
    """A bfloat16 copy of ``network`` in which every layer that combines the network's input with something
    else (a residual sum, the fast generator's known band) stays float32: the input reaches the output
    unrounded, as under a mixed precision policy."""
    import keras
    from keras import ops

    source = network.inputs[0]
    exact = {id(layer) for layer in network.layers
             if isinstance(layer.input, (list, tuple)) and any(t is source for t in layer.input)}

    def bfloat16_layer(layer):
        dtype = "float32" if id(layer) in exact else "mixed_bfloat16"
        return layer.__class__.from_config({**layer.get_config(), "dtype": dtype})

    copy = keras.models.clone_model(network, clone_function=bfloat16_layer)
    copy.set_weights(network.get_weights())
    return lambda x: ops.cast(copy(x, training=False), "float32")


def _length_multiple(model, length_multiple):
    if length_multiple is None:
        length_multiple = getattr(model, "length_multiple", None)
    if length_multiple is None:
        raise ValueError("pass length_multiple for a model without a length_multiple attribute")
    return int(length_multiple)


def _round_up(value, multiple):
    return int(math.ceil(value / multiple) * multiple)


# ------------------------------------------------------------- chunked enhancer


class ChunkedEnhancer:
    """The streaming core of :func:`enhance`.

    ``push`` (channels, n) blocks of spline input, collect the (channels, m)
    blocks of output it returns, then ``finish()`` for the rest; the outputs
    concatenate to exactly the input's length. Channels are processed
    independently, windows of all channels share batches. ``chunk_samples``
    and ``overlap_samples`` are rounded up to the length multiple.

    Each window's output is weighted by ``rise(t) * (1 - rise(t - hop))``:
    ``rise`` is 0 over the first ``margin_samples`` of the overlap (default a
    quarter of it; the part a window's left edge disturbs), a raised cosine
    over the next ``fade_samples`` (default: the overlap less two margins)
    and 1 after, so the last ``overlap - margin - fade`` samples of each
    window are dropped too. With both margins at least the network's
    receptive field the result equals a whole-file pass. A cross-fade needs
    a chunk of more than twice the overlap; ``fade_samples=0`` (a plain
    cut, overlap-save) takes any chunk longer than the overlap, which is how
    :mod:`audiosr.deploy.streaming` runs small blocks. Output leaves
    ``push`` once a whole window of input is in: it lags the input by
    ``overlap - margin`` plus up to one hop.
    """

    def __init__(self, predict, length_multiple, channels=1, chunk_samples=DEFAULT_CHUNK_SAMPLES,
                 overlap_samples=DEFAULT_OVERLAP_SAMPLES, batch_size=DEFAULT_BATCH_SIZE, margin_samples=None,
                 fade_samples=None):
        self._predict = predict
        self._multiple = int(length_multiple)
        self.chunk = _round_up(chunk_samples, self._multiple)
        self.overlap = _round_up(overlap_samples, self._multiple)
        self.margin = self.overlap // 4 if margin_samples is None else int(margin_samples)
        fade = self.overlap - 2 * self.margin if fade_samples is None else int(fade_samples)
        if self.margin < 0 or fade < 0 or self.margin + fade > self.overlap:
            raise ValueError(f"need margin_samples, fade_samples >= 0 and together at most the overlap "
                             f"{self.overlap}, got {self.margin} and {fade}")
        if self.overlap < 4 or self.chunk <= (2 if fade else 1) * self.overlap:
            raise ValueError(
                f"need chunk_samples > {'2 * ' if fade else ''}overlap_samples and overlap_samples >= 4, got "
                f"{self.chunk} and {self.overlap} (after rounding up to multiples of {self._multiple})"
            )
        self.hop = self.chunk - self.overlap
        self._batch_size = int(batch_size)
        self._windows_per_batch = max(1, self._batch_size // channels)
        self._rise = np.zeros(self.overlap, dtype=np.float32)
        self._rise[self.margin:self.margin + fade] = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)
        self._rise[self.margin + fade:] = 1.0
        self._pending = np.zeros((channels, 0), dtype=np.float32)  # input from the next window's start on
        self._windows = []
        self._owed = None  # weighted output of earlier windows from the next window's margin on

    def push(self, block):
        block = np.asarray(block, dtype=np.float32)
        self._pending = np.concatenate([self._pending, block], axis=1)
        while self._pending.shape[1] >= self.chunk:
            self._windows.append(self._pending[:, :self.chunk])
            self._pending = self._pending[:, self.hop:]
        if len(self._windows) < self._windows_per_batch:
            return self._pending[:, :0]
        return self._run_windows()

    def finish(self):
        """Output for everything pushed and not yet returned."""
        parts = [self._run_windows()] if self._windows else []
        remaining = self._pending.shape[1]
        if remaining:
            padded = np.pad(self._pending, ((0, 0), (0, _round_up(remaining, self._multiple) - remaining)))
            parts.append(self._blend(self._predict_windows(padded[None])[0][:, :remaining], last=True))
        self._pending = self._pending[:, :0]
        return np.concatenate(parts, axis=1) if parts else self._pending

    def _run_windows(self):
        outputs = self._predict_windows(np.stack(self._windows))
        self._windows = []
        return np.concatenate([self._blend(output, last=False) for output in outputs], axis=1)

    def _predict_windows(self, windows):
        """(windows, channels, T) -> same, in batches of at most ``batch_size`` rows."""
        rows = windows.reshape(-1, windows.shape[-1], 1)
        out = np.concatenate(
            [self._predict(rows[i:i + self._batch_size]) for i in range(0, rows.shape[0], self._batch_size)]
        )
        return out.reshape(windows.shape)

    def _blend(self, output, last):
        """Weight one window's output, add what earlier windows owe it; return its finished part.

        The first window has no rise and the last no fall. After a window,
        output is final up to the next window's margin.
        """
        first = self._owed is None
        if not first:
            output[:, :self.overlap] *= self._rise
        if not last:
            output[:, self.hop:] *= 1.0 - self._rise
        if not first:
            output[:, self.margin:self.overlap] += self._owed
        begin = 0 if first else self.margin
        if last:
            self._owed = None
            return output[:, begin:]
        self._owed = output[:, self.hop + self.margin:]
        return output[:, begin:self.hop + self.margin]


def enhance(model, spline_input, chunk_samples=DEFAULT_CHUNK_SAMPLES, overlap_samples=DEFAULT_OVERLAP_SAMPLES,
            batch_size=DEFAULT_BATCH_SIZE, precision="float32", length_multiple=None):
    """Run ``model`` over a 1-D spline-upsampled signal of any length.

    Returns a float32 array of the same length. ``model`` is an audiosr model
    (or any Keras model mapping (b, T, 1) to (b, T, 1); then pass
    ``length_multiple``, the multiple its input length must be).
    """
    x = np.asarray(spline_input, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"enhance expects a 1-D signal, got shape {x.shape}")
    enhancer = ChunkedEnhancer(
        make_predictor(model, precision), _length_multiple(model, length_multiple), 1,
        chunk_samples, overlap_samples, batch_size,
    )
    return np.concatenate([enhancer.push(x[None]), enhancer.finish()], axis=1)[0]


# ------------------------------------------------------------- whole files


class StreamingSpline:
    """:func:`audiosr.baselines.spline_upsample` of a stream of low-rate blocks.

    Each output block is the spline through its samples plus ``context``
    samples on each side, so the concatenation matches the whole-signal
    spline (of length ``ratio`` times the input's) to float32 precision.
    """

    def __init__(self, ratio, channels, context=SPLINE_CONTEXT):
        self.ratio = int(ratio)
        self.context = int(context)
        self._buffer = np.zeros((channels, 0), dtype=np.float32)
        self._offset = 0  # low-rate index of self._buffer[:, 0]
        self._done = 0  # low-rate samples whose high-rate samples are out

    def push(self, block, last=False):
        self._buffer = np.concatenate([self._buffer, np.asarray(block, dtype=np.float32)], axis=1)
        end = self._offset + self._buffer.shape[1]
        stop = end if last else end - self.context
        if stop <= self._done:
            return self._buffer[:, :0]
        start = (self._done - self._offset) * self.ratio
        length = (stop - self._offset) * self.ratio
        high = np.stack([spline_upsample(channel, self.ratio, length)[start:] for channel in self._buffer])
        keep = max(stop - self.context, self._offset)
        self._buffer = self._buffer[:, keep - self._offset:]
        self._offset, self._done = keep, stop
        return high


def read_block_frames(rate):
    """How many input frames the streaming path reads at a time (the array path cuts the same blocks)."""
    return max(1024, int(READ_BLOCK_SECONDS * rate))


def _check_output(input_path, output_path, overwrite):
    remove_stale_partials(os.path.dirname(os.path.abspath(output_path)), os.path.basename(output_path))
    if os.path.exists(output_path):
        if os.path.exists(input_path) and os.path.samefile(input_path, output_path):
            raise ValueError(f"{output_path}: output would overwrite its input")
        if not overwrite:
            raise FileExistsError(f"{output_path}: output exists (pass overwrite to replace it)")


def copy_file(input_path, output_path, subtype=None, format=None, overwrite=False, on_progress=None):
    """Pass a recording through unchanged: its samples at its own rate, written atomically, block by block.

    ``subtype=None`` keeps the input's sample format where the output format
    can hold it, so a 16- or 24-bit file comes back bit for bit. Raises as
    :func:`upsample_file` does. Returns the job's dict.
    """
    import soundfile

    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    _check_output(input_path, output_path, overwrite)
    with AudioReader(input_path) as reader:
        if subtype is None:
            out_format = format or os.path.splitext(output_path)[1].lstrip(".").upper()
            own = reader.subtype if reader.subtype in _SAMPLE_SUBTYPES else None  # a codec's is not a sample format
            subtype = own if own and soundfile.check_format(out_format, own) else None
        with AtomicAudioWriter(output_path, reader.rate, reader.channels, subtype, format) as writer:
            for block in reader.blocks(read_block_frames(reader.rate)):
                writer.write(block)
                if on_progress is not None:
                    on_progress(block.shape[1] / reader.rate)
        return {"input_rate": reader.rate, "output_rate": reader.rate, "resampled": False,
                "channels": reader.channels, "seconds": reader.frames / reader.rate, "limited": 0}


def upsampled_blocks(blocks, rate, channels, low_rate, ratio, enhancer=None, net=None):
    """The high-rate (channels, n) blocks of a stream of (channels, n) blocks at ``rate``.

    Each block is resampled to ``low_rate`` (:class:`StreamResampler`),
    splined up by ``ratio`` (:class:`StreamingSpline`) and, with an
    ``enhancer`` (:class:`ChunkedEnhancer`), refined by the network; without
    one, the spline is the output. ``net`` (:class:`audiosr.safety.SafetyNet`)
    scores every (spline, output) pair on the way.
    """
    resampler = StreamResampler(rate, low_rate, channels)
    spline = StreamingSpline(ratio, channels)
    queued = np.zeros((channels, 0), dtype=np.float32)  # spline samples whose output is still in the enhancer

    def refine(high, last):
        nonlocal queued
        if enhancer is None:
            return high
        out = enhancer.push(high)
        if last:
            out = np.concatenate([out, enhancer.finish()], axis=1)
        if net is not None:
            queued = np.concatenate([queued, high], axis=1)
            net.push(queued[:, :out.shape[1]], out)
            queued = queued[:, out.shape[1]:]
        return out

    for block in blocks:
        yield refine(spline.push(resampler(block)), last=False)
    flushed = resampler(np.zeros((channels, 0), dtype=np.float32), last=True)
    yield refine(spline.push(flushed, last=True), last=True)
    if net is not None:
        net.finish()


class _Implausible(Exception):
    """Raised inside the output's ``with``: the model's output is discarded before it lands."""


def upsample_stream(model, read_blocks, rate, channels, sink, band_hz=None, fallback=False,
                    chunk_samples=DEFAULT_CHUNK_SAMPLES, overlap_samples=DEFAULT_OVERLAP_SAMPLES,
                    batch_size=DEFAULT_BATCH_SIZE, precision="float32"):
    """Upsample the blocks ``read_blocks()`` yields into ``sink()``, with the safety net.

    ``sink()`` is a context manager giving a ``write(block)`` function; it is
    entered once, or, when ``fallback`` is set and the safety net finds the
    model's output implausible, left by an exception (so nothing of that
    output is kept) and entered again for the spline of a second read.
    ``band_hz``: the band the input carries (default: all of the model's
    input band). Returns ``(net, fell_back)``.
    """
    low_rate = model.input_rate
    band = low_rate / 2 if band_hz is None else min(float(band_hz), low_rate / 2)
    net = SafetyNet(model.sample_rate, channels, band)
    enhancer = ChunkedEnhancer(make_predictor(model, precision), model.length_multiple, channels,
                               chunk_samples, overlap_samples, batch_size)
    try:
        with sink() as write:
            for block in upsampled_blocks(read_blocks(), rate, channels, low_rate, model.ratio, enhancer, net):
                write(block)
            if fallback and net.implausible:
                raise _Implausible
        return net, False
    except _Implausible:
        with sink() as write:
            for block in upsampled_blocks(read_blocks(), rate, channels, low_rate, model.ratio):
                write(block)
        return net, True


def upsample_file(model, input_path, output_path, subtype=None, format=None, overwrite=False,
                  chunk_samples=DEFAULT_CHUNK_SAMPLES, overlap_samples=DEFAULT_OVERLAP_SAMPLES,
                  batch_size=DEFAULT_BATCH_SIZE, precision="float32", on_progress=None, band_hz=None,
                  fallback=False):
    """Upsample one audio file with constant memory; write ``output_path`` atomically.

    The input (any rate, any channel count) is resampled to the model's input
    rate when needed, each channel is upsampled on its own, and the output
    has the same channels at ``model.sample_rate``. Non-float ``subtype``\\ s
    go through a :class:`audiosr.limiter.PeakLimiter`, so no sample clips.
    ``on_progress(seconds)`` is called as
    input is consumed. ``band_hz`` and ``fallback``: see :func:`upsample_stream`.
    Returns a dict describing the job (rates, channels, seconds, ``limited``:
    samples that were past full scale, ``peak``, ``safety``: the :class:`audiosr.safety.SafetyNet`, ``fell_back``).
    Raises :class:`AudioFileError` for bad input
    (the partial output is removed), ``FileExistsError`` for an existing
    output without ``overwrite``, ``ValueError`` if the output is the input.
    A temporary file of ``output_path`` left by a killed process is removed first.
    """
    import contextlib

    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    _check_output(input_path, output_path, overwrite)
    low_rate = model.input_rate
    with AudioReader(input_path) as reader:
        if reader.frames * low_rate / reader.rate < MIN_LOWRATE_SAMPLES:
            need = math.ceil(MIN_LOWRATE_SAMPLES * reader.rate / low_rate)
            raise AudioFileError(
                input_path, f"too short: {reader.frames} samples at {reader.rate} Hz, need at least {need} samples"
            )
        limit = (subtype or "").upper() not in _FLOAT_SUBTYPES
        limiter = None
        first_read = True

        def read_blocks():
            nonlocal first_read
            for block in reader.blocks(read_block_frames(reader.rate)):
                if on_progress is not None and first_read:
                    on_progress(block.shape[1] / reader.rate)
                yield block
            first_read = False

        @contextlib.contextmanager
        def sink():
            nonlocal limiter
            limiter = PeakLimiter(model.sample_rate, reader.channels) if limit else None
            with AtomicAudioWriter(output_path, model.sample_rate, reader.channels, subtype, format) as writer:

                def write(block, last=False):
                    if limiter is not None:  # fixed point holds [-1, 1]: lower the peaks smoothly, never clip
                        block = np.clip(limiter.push(block, last=last), -1.0, 1.0)
                    writer.write(block)

                yield write
                write(np.zeros((reader.channels, 0), dtype=np.float32), last=True)

        net, fell_back = upsample_stream(model, read_blocks, reader.rate, reader.channels, sink, band_hz, fallback,
                                         chunk_samples, overlap_samples, batch_size, precision)
        return {
            "input_rate": reader.rate,
            "model_input_rate": low_rate,
            "output_rate": model.sample_rate,
            "resampled": reader.rate != low_rate,
            "channels": reader.channels,
            "seconds": reader.frames / reader.rate,
            "limited": limiter.over if limiter is not None else 0,
            "peak": limiter.peak if limiter is not None else None,
            "safety": net,
            "fell_back": fell_back,
        }
