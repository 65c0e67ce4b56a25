"""What ``audiosr upsample`` and ``audiosr.upsample`` do with a recording: one path for files and arrays.

Per recording: estimate its effective band (:mod:`audiosr.bandwidth`;
``input_band`` overrides it), let :func:`audiosr.planning.plan` decide (pass
through unchanged, or which model at which input rate), then either copy the
samples or stream them through :func:`audiosr.inference.upsample_stream`
with the safety net (:mod:`audiosr.safety`): an implausible output is
replaced by the spline unless ``fallback=False``. Files are read block by
block (a first pass for the band, a second to upsample; a third only when
the spline replaces an implausible output); arrays are cut into the same
blocks, so an array and a float file give the same samples.
"""

import contextlib
import functools

import numpy as np

from audiosr.audio_io import AudioReader
from audiosr.bandwidth import SpectrumAccumulator, estimate_band
from audiosr.inference import (
    MIN_LOWRATE_SAMPLES,
    copy_file,
    load_model,
    read_block_frames,
    upsample_file,
    upsample_stream,
)
from audiosr.planning import Candidate, plan
from audiosr.pretrained import candidates as shipped_candidates
from audiosr.pretrained import model_path


@functools.lru_cache(maxsize=8)
def _load(path):
    return load_model(path)


class Models:
    """The models a recording may get: the shipped speech models (``model=None``), or the one named.

    ``model``: a shipped model's name, a ``.keras`` path, or a loaded audiosr
    model. A bad name or file raises ValueError at once. Models are loaded
    when first chosen, once.
    """

    def __init__(self, model=None):
        self.explicit = model is not None
        self._loaded = {}
        if model is None:
            self.candidates = shipped_candidates()
            return
        loaded = model if hasattr(model, "ratio") else _load(model_path(model))
        name = loaded.name if model is loaded else str(model)
        self.candidates = (Candidate.of_model(name, loaded),)
        self._loaded[name] = loaded

    def plan(self, rate, band_hz, given=False):
        return plan(rate, band_hz, self.candidates, explicit=self.explicit, given=given)

    def model(self, candidate):
        """The loaded model of a :class:`Candidate` this object offered."""
        if candidate.name not in self._loaded:
            self._loaded[candidate.name] = _load(model_path(candidate.name))
        return self._loaded[candidate.name]

    @property
    def output_rate(self):
        return max(c.output_rate for c in self.candidates)


def file_band(path):
    """``(rate, band)`` of an audio file: its band estimated in one pass over its blocks (constant memory)."""
    with AudioReader(path) as reader:
        accumulator = SpectrumAccumulator(reader.rate, reader.channels)
        for block in reader.blocks(read_block_frames(reader.rate)):
            accumulator.push(block)
        return reader.rate, accumulator.estimate().band_hz


def upsample_path(models, input_path, output_path, input_band=None, fallback=True, subtype=None, copy_subtype=None,
                  format=None, overwrite=False, on_progress=None, **options):
    """Decide for one file and write its output; returns ``(plan, info)``.

    ``subtype`` is the output's sample format when a model runs,
    ``copy_subtype`` when the file passes through (None: the input's own).
    ``info`` is :func:`audiosr.inference.upsample_file`'s or
    :func:`audiosr.inference.copy_file`'s dict; ``options`` go to the former
    (chunk and batch sizes, precision). Raises as they do.
    """
    if input_band is None:
        rate, band = file_band(input_path)
    else:
        with AudioReader(input_path) as reader:
            rate, band = reader.rate, input_band
    decision = models.plan(rate, band, given=input_band is not None)
    if decision.passes_through:
        return decision, copy_file(input_path, output_path, copy_subtype, format, overwrite, on_progress)
    model = models.model(decision.model)
    return decision, upsample_file(model, input_path, output_path, subtype, format, overwrite, on_progress=on_progress,
                                   band_hz=decision.band_hz, fallback=fallback, **options)


def upsample(audio, rate, model=None, input_band=None, fallback=True, **options):
    """``audio, rate = audiosr.upsample(audio, rate)``: the array path of ``audiosr upsample``.

    ``audio``: mono ``(n,)`` or ``(n, channels)`` samples at ``rate`` Hz.
    The same decisions as the command (band estimate or ``input_band``, pass
    through, model, resampling, safety net) give the same samples as its
    float output (``--bit-depth float``). Returns a float32 array of the
    same layout and its rate (the input's own when it passes through).
    ``model``: None (the shipped speech models), a shipped name, a ``.keras``
    path or a loaded model; ``options``: chunk and batch sizes, precision.
    """
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim not in (1, 2) or array.shape[0] == 0:
        raise ValueError(f"audio must be (n,) or (n, channels) samples, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("audio holds NaN or infinite samples")
    if not rate or rate <= 0:
        raise ValueError(f"rate must be a positive number of Hz, got {rate}")
    blocks = array.T if array.ndim == 2 else array[None]
    models = model if isinstance(model, Models) else Models(model)
    band = estimate_band(array, rate).band_hz if input_band is None else input_band
    decision = models.plan(rate, band, given=input_band is not None)
    if decision.passes_through:
        return array.copy(), rate
    network = models.model(decision.model)
    if blocks.shape[1] * network.input_rate / rate < MIN_LOWRATE_SAMPLES:
        raise ValueError(f"too short: {blocks.shape[1]} samples at {rate} Hz")
    step = read_block_frames(rate)
    parts = []

    @contextlib.contextmanager
    def sink():
        parts.clear()
        yield parts.append

    upsample_stream(network, lambda: (blocks[:, i:i + step] for i in range(0, blocks.shape[1], step)), rate,
                    blocks.shape[0], sink, decision.band_hz, fallback, **options)
    out = np.concatenate(parts, axis=1)
    return (out.T if array.ndim == 2 else out[0]), network.sample_rate
