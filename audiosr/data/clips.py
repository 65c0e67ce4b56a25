"""Turning one recording into training clips: the work done in worker processes.

Everything here is numpy/scipy (no TensorFlow), so the preparation pool
starts fast and its processes stay small. Each function takes plain data
and returns plain data that pickles cheaply back to the main process; the
clips come back int16-coded as :mod:`audiosr.data.records` stores them.
"""

import dataclasses
import hashlib
import math
import os

import numpy as np
import soundfile

from audiosr.audio_io import AudioFileError, load_audio
from audiosr.lowres import simulate_lowres
from audiosr.data.records import quantize


@dataclasses.dataclass(frozen=True)
class ClipSettings:
    """How clips are cut and judged; every field is recorded in the manifest.

    A clip is silent when its RMS is below ``silence_db`` relative to the
    RMS of its whole recording, or below the absolute floor ``min_rms``.
    ``context`` samples of the recording on each side of a clip go into the
    low-res simulation and are then cropped, so a clip's spline input matches
    the one computed on the whole recording (no filter edge effects), at a
    cost bounded by the clip count rather than the corpus length.
    """

    sample_rate: int = 16000
    clip_samples: int = 8000
    ratios: tuple = (2, 4)
    silence_db: float = -30.0
    min_rms: float = 10 ** (-70 / 20)
    context: int = 512
    max_tries: int = 10

    @property
    def grid(self):
        """Clip starts are multiples of this, so every ratio's decimation grid matches the recording's."""
        return math.lcm(*self.ratios)


@dataclasses.dataclass(frozen=True)
class ChunkTask:
    """Draw ``num_clips`` clips from one recording with a reproducible seed."""

    source_index: int
    path: str
    expected_samples: int  # length at the target rate according to the file header
    num_clips: int
    seed: tuple


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def scan_source(path, settings):
    """Header facts and a hash of one file, or ``{"error": reason}``.

    Only the header is decoded here; broken audio data is caught later,
    when the recording is decoded for its clips.
    """
    try:
        if os.path.getsize(path) == 0:
            return {"error": "empty file"}
        info = soundfile.info(path)
        rate, channels, frames = int(info.samplerate), int(info.channels), int(info.frames)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
        return {"error": f"not readable as audio ({error})"}
    if frames <= 0 or rate <= 0:
        return {"error": "no audio samples"}
    expected = int(frames * settings.sample_rate // rate)
    if expected < settings.clip_samples:
        return {"error": f"too short: {frames / rate:.3f} s, a clip needs "
                         f"{settings.clip_samples / settings.sample_rate:.3f} s"}
    return {
        "rate": rate,
        "channels": channels,
        "seconds": round(frames / rate, 4),
        "samples": expected,
        "bytes": os.path.getsize(path),
        "sha256": file_sha256(path),
    }


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def draw_starts(audio, num_clips, rng, settings):
    """Random non-silent clip starts; returns (starts, number of silent draws rejected)."""
    grid, length = settings.grid, settings.clip_samples
    positions = (audio.shape[0] - length) // grid + 1
    threshold = max(settings.min_rms, _rms(audio) * 10 ** (settings.silence_db / 20))
    starts, rejected = [], 0
    for _ in range(num_clips):
        for _ in range(settings.max_tries):
            start = int(rng.integers(positions)) * grid
            if _rms(audio[start:start + length]) >= threshold:
                starts.append(start)
                break
            rejected += 1
    return starts, rejected


def lowres_clip(audio, start, ratio, settings):
    """``simulate_lowres`` of the clip at ``start``, computed with ``settings.context`` around it."""
    lo = max(0, start - settings.context)
    hi = min(audio.shape[0], start + settings.clip_samples + settings.context)
    spline = simulate_lowres(audio[lo:hi], ratio)
    return spline[start - lo:start - lo + settings.clip_samples]


def cut_clips(audio, starts, settings):
    """int16-coded high-res clips, their spline inputs per ratio, and per-clip scales."""
    length = settings.clip_samples
    high, lowres, scales = [], {r: [] for r in settings.ratios}, []
    for start in starts:
        target = audio[start:start + length]
        inputs = [lowres_clip(audio, start, r, settings) for r in settings.ratios]
        coded, scale = quantize([target, *inputs])
        high.append(coded[0])
        for ratio, values in zip(settings.ratios, coded[1:]):
            lowres[ratio].append(values)
        scales.append(scale)
    empty = np.zeros((0, length), np.int16)
    return {
        "high": np.stack(high) if high else empty,
        "lowres": {r: np.stack(v) if v else empty for r, v in lowres.items()},
        "scales": np.asarray(scales, np.float32),
        "starts": np.asarray(starts, np.int64),
    }


def process_chunk(task, settings):
    """Decode one recording and cut ``task.num_clips`` clips from it.

    Returns a dict with ``source_index``, ``error`` (None, or why the file
    is unusable: unreadable, truncated, NaN, ...), ``rejected`` (silent
    draws) and the clip arrays of :func:`cut_clips`.
    """
    result = {"source_index": task.source_index, "error": None, "rejected": 0}
    try:
        audio, _ = load_audio(task.path, target_rate=settings.sample_rate, min_samples=settings.clip_samples)
    except AudioFileError as error:
        return {**result, "error": error.reason}
    # A truncated stream decodes to less audio than its header promises. The margin
    # is wide because MP3 headers only estimate their length.
    if audio.shape[0] < 0.9 * task.expected_samples:
        return {**result, "error": f"truncated: header says {task.expected_samples} samples at "
                                   f"{settings.sample_rate} Hz, decoded {audio.shape[0]}"}
    starts, rejected = draw_starts(audio, task.num_clips, np.random.default_rng(task.seed), settings)
    return {**result, "rejected": rejected, **cut_clips(audio, starts, settings)}
