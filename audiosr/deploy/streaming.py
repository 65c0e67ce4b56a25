"""Real-time upsampling of a sample stream: small blocks in, small blocks out, a fixed latency.

:class:`StreamUpsampler` is ``audiosr upsample``'s pipeline (resample to the
model's input rate, :class:`~audiosr.inference.StreamingSpline`,
:class:`~audiosr.inference.ChunkedEnhancer`) with windows sized for
latency instead of throughput: each window is one block plus the network's
receptive field on either side (overlap-save, no cross-fade), so its output
equals the file pipeline's. A sample leaves at most *block + look-ahead*
after it arrives (plus the time the network takes); the look-ahead is the
receptive field to the right plus the spline's context, and the output
stream is sample-aligned with the input (no leading delay in the samples).
:func:`stream_pcm` runs it between two byte streams of 16-bit PCM, writing
each finished block at once.
"""

import dataclasses

import numpy as np

from audiosr.audio_io import StreamResampler
from audiosr.inference import SPLINE_CONTEXT, ChunkedEnhancer, StreamingSpline, make_predictor

DEFAULT_BLOCK_SECONDS = 0.02
READ_BYTES = 1 << 16
PCM_SCALE = 32768.0  # 16-bit PCM <-> float in [-1, 1), as soundfile reads it


def _round_up(value, multiple):
    return -(-int(value) // multiple) * multiple


def receptive_field(model):
    """``(left, right)``: how many output samples before and after an output sample can change it.

    Read from the support of the network's gradient at a random input (every
    weight path that reaches the output, so no threshold is involved), for
    a block of ``length_multiple`` outputs (every phase of the strides) in a
    window that is doubled until the support stays inside it.
    """
    import tensorflow as tf

    network = getattr(model, "generator", model)
    multiple = model.length_multiple
    length = _round_up(4096, multiple)
    rng = np.random.default_rng(0)
    while True:
        centre = _round_up(length // 2, multiple)
        x = tf.constant(0.1 * rng.standard_normal((1, length, 1)), dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(network(x, training=False)[0, centre:centre + multiple, 0])
        support = np.flatnonzero(tape.gradient(total, x).numpy()[0, :, 0])
        if support[0] > 0 and support[-1] < length - 1:
            return int(centre - support[0]), int(support[-1] - (centre + multiple - 1))
        length *= 2


@dataclasses.dataclass(frozen=True)
class Latency:
    """Where a stream's delay comes from, in seconds; ``total`` is the most a sample waits (compute aside)."""

    block: float
    network: float  # the receptive field to the right of a block
    spline: float  # SPLINE_CONTEXT low-rate samples
    resampler: float  # soxr's delay when the input rate is not the model's

    @property
    def lookahead(self):
        return self.network + self.spline + self.resampler

    @property
    def total(self):
        return self.block + self.lookahead


def _resampler_delay(input_rate, low_rate):
    """Seconds the streaming resampler holds back (0 when the rates match)."""
    if float(input_rate) == float(low_rate):
        return 0.0
    probe = StreamResampler(input_rate, low_rate, 1)
    n = int(input_rate)  # one second in
    out = probe(np.zeros((1, n), dtype=np.float32)).shape[1]
    return max(0.0, (n * low_rate / input_rate - out) / low_rate)


class StreamUpsampler:
    """``push`` mono float blocks at ``input_rate``; get the upsampled blocks that are finished.

    ``finish()`` returns the rest; all outputs concatenate to what
    ``audiosr upsample`` writes for the same samples (within float
    rounding). ``block_seconds`` is rounded up to the model's length
    multiple; ``latency`` says the resulting delay.
    """

    def __init__(self, model, input_rate, block_seconds=DEFAULT_BLOCK_SECONDS, precision="float32"):
        if not block_seconds > 0:
            raise ValueError(f"block_seconds must be positive, got {block_seconds}")
        low_rate = model.input_rate
        self.input_rate, self.output_rate, self.ratio = input_rate, model.sample_rate, model.ratio
        multiple = model.length_multiple
        left, right = receptive_field(model)
        overlap = _round_up(left + right, multiple)
        hop = _round_up(block_seconds * self.output_rate, multiple)
        predict = make_predictor(model, precision)
        predict(np.zeros((1, hop + overlap, 1), dtype=np.float32))  # compile now, not on the first block
        self._resample = StreamResampler(input_rate, low_rate, 1)
        self._spline = StreamingSpline(model.ratio, 1)
        self._enhancer = ChunkedEnhancer(predict, multiple, 1, hop + overlap, overlap, batch_size=1,
                                         margin_samples=left, fade_samples=0)
        rate = float(self.output_rate)
        self.latency = Latency(block=hop / rate, network=(overlap - left) / rate,
                               spline=SPLINE_CONTEXT * model.ratio / rate,
                               resampler=_resampler_delay(input_rate, low_rate))

    def push(self, samples):
        """Upsampled output (1-D float32) that ``samples`` (1-D, at ``input_rate``) completes; often empty."""
        low = self._resample(np.asarray(samples, dtype=np.float32).reshape(1, -1))
        return self._enhancer.push(self._spline.push(low))[0]

    def finish(self):
        """The rest of the output, once the input has ended."""
        low = self._resample(np.zeros((1, 0), dtype=np.float32), last=True)
        return np.concatenate([self._enhancer.push(self._spline.push(low, last=True)), self._enhancer.finish()],
                              axis=1)[0]


def pcm_to_float(data):
    """16-bit little-endian PCM bytes (an even count) -> float32 samples in [-1, 1)."""
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / PCM_SCALE


def float_to_pcm(samples):
    """float samples -> 16-bit little-endian PCM bytes, and how many were clipped."""
    scaled = np.round(np.asarray(samples, dtype=np.float64) * PCM_SCALE)
    clipped = int(np.count_nonzero((scaled > 32767) | (scaled < -32768)))
    return np.clip(scaled, -32768, 32767).astype("<i2").tobytes(), clipped


def stream_pcm(upsampler, source, sink, read_bytes=READ_BYTES):
    """Upsample 16-bit mono PCM from binary file ``source`` into ``sink`` until ``source`` ends.

    Reads whatever has arrived (``read1``), pushes it, and writes and
    flushes each finished block at once. Returns a dict: samples read and
    written, samples clipped, and a trailing odd byte dropped (0 or 1).
    """
    read = getattr(source, "read1", source.read)
    stats = {"samples_in": 0, "samples_out": 0, "clipped": 0, "dropped_bytes": 0}
    carry = b""

    def write(samples):
        if samples.size:
            data, clipped = float_to_pcm(samples)
            sink.write(data)
            sink.flush()
            stats["samples_out"] += samples.size
            stats["clipped"] += clipped

    while True:
        data = read(read_bytes)
        if not data:
            break
        data = carry + data
        even = len(data) - len(data) % 2
        carry = data[even:]
        stats["samples_in"] += even // 2
        write(upsampler.push(pcm_to_float(data[:even])))
    stats["dropped_bytes"] = len(carry)
    write(upsampler.finish())
    return stats
