"""The prepared data set format: TFRecord shards of int16 clips, and the manifest that lists them.

A prepared data set is a folder holding ``manifest.json`` (a
:class:`Manifest`) and TFRecord shards. One record is one clip:

=============  ======  ====================================================
feature        type    content
=============  ======  ====================================================
``high``       bytes   the 16 kHz target, ``clip_samples`` int16 (little endian)
``lowres_R``   bytes   ``audiosr.lowres.simulate_lowres(clip, R)`` for each
                       prepared ratio R, same length and coding as ``high``
``scale``      float   the clip's peak: ``float = int16 * scale / 32767``
``source``     int64   index of the recording in ``Manifest.sources``
``start``      int64   first sample of the clip in that recording at 16 kHz
=============  ======  ====================================================

Why this coding: the spline input is precomputed because interpolating
splines inside the input graph would bound training by data; int16 with a
per-clip peak scale halves the bytes of float32 while keeping about 90 dB
of SNR per clip (far below what any model reaches), and decoding it is one
cast and one multiply per batch. Records are serialized deterministically,
so the same preparation gives the same bytes in every process.

The writer (:mod:`audiosr.data.prepare`) and the reader (:mod:`audiosr.data.pipeline`) both
use this module. Records are encoded here, in protobuf's wire format and
TFRecord's framing (the bytes TensorFlow writes, checked by the tests), so
preparation runs without TensorFlow: its processes start in a second, not
six, and stay small. Only the reader's parse spec imports TensorFlow.
"""

import dataclasses
import json
import os
import struct

import google_crc32c
import numpy as np

from audiosr.atomic import atomic_path, write_json_atomic
from audiosr.lowres import SAMPLE_RATE

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "audiosr.clips"
FORMAT_VERSION = 1
INT16_FULL_SCALE = 32767.0
CODING = "int16 little endian, value = int16 * scale / 32767 (scale = clip peak)"


class DataSetError(ValueError):
    """A folder that is not a usable prepared data set; the message names it and says what to do."""


def quantize(arrays):
    """Code float arrays as int16 with one shared peak scale: ``x = q * scale / 32767``."""
    peak = max(float(np.max(np.abs(a))) for a in arrays)
    scale = np.float32(peak if peak > 0 else 1.0)
    return [np.round(np.asarray(a, np.float32) * (INT16_FULL_SCALE / scale)).astype(np.int16) for a in arrays], scale


def lowres_key(ratio):
    """Record feature holding the spline input for ``ratio``."""
    return f"lowres_{int(ratio)}"


def feature_names(ratios):
    """The features of a record prepared for ``ratios``, in the order the table above lists them."""
    return ["high", *[lowres_key(r) for r in ratios], "scale", "source", "start"]


def training_features(ratio=None):
    """``tf.io.parse_example`` spec of what a model trains on: the target and the scale, with the spline input
    precomputed for ``ratio``, or (``ratio=None``: inputs made as clips are read) the clip's ``source`` and
    ``start``, which name it."""
    import tensorflow as tf

    spec = {"high": tf.io.FixedLenFeature([], tf.string), "scale": tf.io.FixedLenFeature([], tf.float32)}
    if ratio is None:
        spec.update(source=tf.io.FixedLenFeature([], tf.int64), start=tf.io.FixedLenFeature([], tf.int64))
    else:
        spec[lowres_key(ratio)] = tf.io.FixedLenFeature([], tf.string)
    return spec


def _varint(value):
    """Protobuf's base-128 varint of a non-negative int (or a negative int64, as its 64-bit two's complement)."""
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field: a message, bytes or a packed repeated scalar."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_clip(high, lowres, scale, source, start):
    """One serialized ``tf.train.Example`` from int16 arrays.

    ``lowres`` maps each ratio to its int16 spline input; ``scale`` is the
    float the int16 values were divided by. Example -> Features -> map of
    Feature (bytes_list = 1, float_list = 2, int64_list = 3), the map's
    entries sorted by key as TensorFlow's deterministic serialization sorts
    them, so the bytes do not depend on the process.
    """
    def raw(values):
        return _field(1, _field(1, np.asarray(values, dtype="<i2").tobytes()))

    features = {
        "high": raw(high),
        "scale": _field(2, _field(1, struct.pack("<f", float(scale)))),
        "source": _field(3, _field(1, _varint(int(source)))),
        "start": _field(3, _field(1, _varint(int(start)))),
        **{lowres_key(ratio): raw(values) for ratio, values in lowres.items()},
    }
    entries = (_field(1, _field(1, key.encode()) + _field(2, feature)) for key, feature in sorted(features.items()))
    return _field(1, b"".join(entries))


def _masked_crc32c(data):
    """TFRecord's checksum of ``data``: its CRC-32C rotated right by 15 bits plus a constant, little endian."""
    crc = google_crc32c.value(data)
    return struct.pack("<I", ((crc >> 15 | crc << 17) + 0xA282EAD8) & 0xFFFFFFFF)


def write_shard_atomic(path, records):
    """Write serialized records to ``path`` as a TFRecord file (each record: its length as uint64, that length's
    masked CRC-32C, the bytes, their masked CRC-32C) so a reader never sees a partial shard; returns its size."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        for record in records:
            length = struct.pack("<Q", len(record))
            handle.write(length + _masked_crc32c(length) + record + _masked_crc32c(record))
    return os.path.getsize(path)


@dataclasses.dataclass
class Shard:
    """One written shard and what happened to the recordings planned into it."""

    file: str
    round: int  # 0: the first pass; 1, 2, ...: top-ups for clips lost in earlier rounds
    clips: int
    bytes: int
    failed: dict  # source index (as a string, JSON's keys) -> why the recording could not be decoded
    silent: list  # source indices that gave no clip above the silence threshold
    rejected_silent_draws: int


@dataclasses.dataclass
class Split:
    """Clips asked for and written in one split (train, val or test), and the shards holding them."""

    requested: int
    clips: int = 0
    shards: list = dataclasses.field(default_factory=list)  # of Shard
    seconds: float = None  # of clips, set when the preparation completes


@dataclasses.dataclass
class Manifest:
    """What a prepared data set holds and how it was made; ``manifest.json`` in its folder.

    ``sources`` lists every input recording (``path`` relative to the folder
    when inside it, ``split``, ``group``, header facts, ``sha256``) in the
    order records' ``source`` indices refer to; ``skipped`` lists the
    unusable files (``path``, ``reason``). ``complete`` is set only when the
    last shard is written: readers refuse an unfinished set.
    """

    name: str
    fingerprint: str  # identifies the parameters and the exact input files: a resumed run must match it
    created: str
    sample_rate: int
    clip_samples: int
    clip_seconds: float
    ratios: list
    params: dict
    info: dict  # about the corpus: layout, speakers, metadata used
    splits: dict  # name -> Split
    sources: list
    skipped: list
    complete: bool = False
    finished: str = None
    last_run_seconds: float = None
    format: str = FORMAT_NAME
    version: int = FORMAT_VERSION

    def to_json(self):
        content = dataclasses.asdict(self)
        content["record"] = {"features": feature_names(self.ratios), "coding": CODING}  # for readers without us
        return content

    @classmethod
    def from_json(cls, content):
        content = {key: value for key, value in content.items() if key != "record"}
        content["splits"] = {name: Split(**{**entry, "shards": [Shard(**s) for s in entry["shards"]]})
                             for name, entry in content["splits"].items()}
        return cls(**content)

    def save(self, folder):
        write_json_atomic(os.path.join(os.fspath(folder), MANIFEST_NAME), self.to_json())

    @classmethod
    def load(cls, folder, complete=True):
        """The manifest in ``folder``; with ``complete``, DataSetError unless the preparation finished."""
        path = os.path.join(os.fspath(folder), MANIFEST_NAME)
        if not os.path.isfile(path):
            raise DataSetError(f"{path} not found: {folder} is not a prepared data set "
                               "(make one with audiosr.data.prepare or a data_prep/ script)")
        try:
            with open(path, encoding="utf-8") as handle:
                manifest = cls.from_json(json.load(handle))
        except (ValueError, TypeError, KeyError) as error:
            raise DataSetError(f"{path}: not a manifest of this version of audiosr ({error})") from error
        if complete and not manifest.complete:
            raise DataSetError(f"the preparation of {folder} is unfinished; run the same preparation again "
                               "to resume it")
        return manifest

    def split(self, name, folder):
        """The :class:`Split` called ``name``, or DataSetError when it holds no clips."""
        if name not in self.splits or self.splits[name].clips == 0:
            present = [split for split, entry in self.splits.items() if entry.clips > 0]
            raise DataSetError(f"{folder} has no clips in split {name!r}; splits with clips: {present}")
        return self.splits[name]

    def check_ratio(self, ratio, folder):
        """DataSetError unless the set holds spline inputs for ``ratio``."""
        if int(ratio) not in self.ratios:
            raise DataSetError(f"{folder} was prepared for ratios {self.ratios}, not {ratio}; "
                               "prepare it again with that ratio")

    def check_sample_rate(self, folder):
        """DataSetError unless the clips are at the rate the models, input makers and content networks work
        at (:data:`audiosr.lowres.SAMPLE_RATE`): a set at another rate would train as if it were at that one."""
        if self.sample_rate != SAMPLE_RATE:
            raise DataSetError(f"{folder}: prepared at {self.sample_rate} Hz, but models train on "
                               f"{SAMPLE_RATE} Hz sets only; prepare it again with --sample_rate={SAMPLE_RATE}")

    def add_shard(self, split, shard):
        self.splits[split].shards.append(shard)
        self.splits[split].clips += shard.clips
