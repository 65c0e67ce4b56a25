"""Prepared data sets on disk and the tf.data pipeline that feeds the models.

A prepared data set is a folder holding ``manifest.json`` and TFRecord
shards (written by :mod:`audiosr.prep`). One record is one clip:

=============  ======  ====================================================
feature        type    content
=============  ======  ====================================================
``high``       bytes   the 16 kHz target, ``clip_samples`` int16 (little endian)
``lowres_R``   bytes   ``audiosr.lowres.simulate_lowres(clip, R)`` for each
                       prepared ratio R, same length and coding as ``high``
``scale``      float   the clip's peak: ``float = int16 * scale / 32767``
``source``     int64   index of the recording in ``manifest["sources"]``
``start``      int64   first sample of the clip in that recording at 16 kHz
=============  ======  ====================================================

Why this coding: the spline input is precomputed because interpolating
splines inside the input graph would bound training by data; int16 with a
per-clip peak scale halves the bytes of float32 while keeping about 90 dB
of SNR per clip (far below what any model reaches), and decoding it is one
cast and one multiply per batch. The reader only opens shards listed in a
*complete* manifest, so a half-finished preparation is never read.

Where a prepared set lives is decided here only (:func:`dataset_dir`,
:func:`dataset_name`): the data_prep/ scripts write there and the
experiments read from there, so a set is named once (``--dataset``).
"""

import json
import os

import numpy as np
import tensorflow as tf

from audiosr.atomic import atomic_path
from audiosr.clips import INT16_FULL_SCALE, MANIFEST_NAME


DATA_ROOT = "data"
# The corpus as the study prepares it keeps the plain name (data/vctk, data/fma), the name its
# flagfiles train on; any other variant gets it as a suffix (data/vctk-single, data/fma-small).
STUDY_VARIANTS = {"vctk": "multi", "fma": "medium"}


def dataset_name(corpus, variant):
    """Name of a prepared set: ``dataset_name("vctk", "multi") == "vctk"``, ``("vctk", "single") -> "vctk-single"``."""
    return corpus if STUDY_VARIANTS.get(corpus) == variant else f"{corpus}-{variant}"


def dataset_dir(name):
    """Folder of the prepared set ``name``: ``data/<name>``, relative to the working folder (the repository root)."""
    return os.path.join(DATA_ROOT, name)


def lowres_key(ratio):
    """Record feature holding the spline input for ``ratio``."""
    return f"lowres_{int(ratio)}"


def _bytes_feature(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def encode_clip(high, lowres, scale, source, start):
    """One serialized ``tf.train.Example`` from int16 arrays.

    ``lowres`` maps each ratio to its int16 spline input; ``scale`` is the
    float the int16 values were divided by (see the module docstring).
    """
    features = {
        "high": _bytes_feature(np.asarray(high, dtype="<i2").tobytes()),
        "scale": tf.train.Feature(float_list=tf.train.FloatList(value=[float(scale)])),
        "source": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(source)])),
        "start": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(start)])),
    }
    for ratio, values in lowres.items():
        features[lowres_key(ratio)] = _bytes_feature(np.asarray(values, dtype="<i2").tobytes())
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def write_shard_atomic(path, records):
    """Write serialized records to ``path`` so a reader never sees a partial shard.

    The records go to a hidden ``.partial-*`` file beside ``path``, which is
    renamed into place only once it is complete and closed.
    """
    with atomic_path(path) as tmp, tf.io.TFRecordWriter(tmp) as writer:
        for record in records:
            writer.write(record)
    return os.path.getsize(path)


def read_manifest(data_dir):
    """The parsed ``manifest.json`` of a prepared data set."""
    path = os.path.join(os.fspath(data_dir), MANIFEST_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: {data_dir} is not a prepared data set "
            "(make one with `make data-demo` or a data_prep/ script)"
        )
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _complete_manifest(data_dir):
    manifest = read_manifest(data_dir)
    if not manifest.get("complete"):
        raise RuntimeError(
            f"the preparation of {data_dir} is unfinished; run the same preparation again to resume it"
        )
    return manifest


def _split_entry(manifest, data_dir, split):
    splits = manifest["splits"]
    if split not in splits or splits[split]["clips"] == 0:
        present = [name for name, entry in splits.items() if entry["clips"] > 0]
        raise ValueError(f"{data_dir} has no clips in split {split!r}; splits with clips: {present}")
    return splits[split]


def num_examples(data_dir, split):
    """Number of clips in ``split`` (for steps_per_epoch and progress bars)."""
    manifest = _complete_manifest(data_dir)
    return int(_split_entry(manifest, data_dir, split)["clips"])


def shard_paths(data_dir, split):
    """Absolute paths of the shards of ``split``, checked against the manifest."""
    data_dir = os.fspath(data_dir)
    entry = _split_entry(_complete_manifest(data_dir), data_dir, split)
    paths = []
    for shard in entry["shards"]:
        path = os.path.join(data_dir, shard["file"])
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} is listed in {MANIFEST_NAME} but missing")
        if os.path.getsize(path) != shard["bytes"]:
            raise ValueError(
                f"{path} is {os.path.getsize(path)} bytes but {MANIFEST_NAME} says {shard['bytes']}: "
                "the data set was modified after preparation"
            )
        paths.append(path)
    return paths


def split_sources(data_dir, split):
    """Absolute paths of the usable recordings of ``split`` (for whole-utterance evaluation)."""
    data_dir = os.fspath(data_dir)
    manifest = read_manifest(data_dir)
    if split not in manifest["splits"]:
        raise ValueError(f"{data_dir} has no split {split!r}; it has {sorted(manifest['splits'])}")
    skipped = {item["path"] for item in manifest["skipped"]}
    return [
        os.path.normpath(os.path.join(data_dir, source["path"]))
        for source in manifest["sources"]
        if source["split"] == split and source["path"] not in skipped
    ]


def _decoder(ratio, clip_samples, batch_size):
    """Parse a batch of serialized clips into (spline_input, high_res) float32."""
    key = lowres_key(ratio)
    spec = {
        "high": tf.io.FixedLenFeature([], tf.string),
        key: tf.io.FixedLenFeature([], tf.string),
        "scale": tf.io.FixedLenFeature([], tf.float32),
    }

    def decode(serialized):
        parsed = tf.io.parse_example(serialized, spec)
        gain = tf.reshape(parsed["scale"] / INT16_FULL_SCALE, [-1, 1, 1])

        def to_float(raw):
            values = tf.io.decode_raw(raw, tf.int16, little_endian=True)
            return tf.cast(tf.reshape(values, [batch_size, clip_samples, 1]), tf.float32) * gain

        return to_float(parsed[key]), to_float(parsed["high"])

    return decode


def make_dataset(data_dir, split, ratio, batch_size, shuffle=True, seed=None, deterministic=None,
                 repeat=False, drop_remainder=True, shuffle_buffer=1024, cycle_length=8):
    """Batches of ``(spline_input, high_res)``, float32, shape (batch, clip_samples, 1).

    Shards are read in parallel (interleaved) and shuffled by file and by a
    ``shuffle_buffer`` of clips; parsing is vectorised per batch. The order
    is a function of ``seed`` (or fixed, unshuffled) unless ``shuffle`` is on
    with ``seed=None`` -- a fresh order each time -- or ``deterministic=False``,
    which lets parallel reads deliver whichever shard is ready first
    (``deterministic=True`` with ``seed=None`` uses seed 0). Each pass over
    the data (each epoch, or each repetition) is shuffled anew, in the same
    sequence for the same seed; a new pipeline (a resumed run) starts that
    sequence again. The result feeds ``model.fit`` directly and
    ``strategy.experimental_distribute_dataset``.
    """
    data_dir = os.fspath(data_dir)
    manifest = _complete_manifest(data_dir)
    if int(ratio) not in manifest["ratios"]:
        raise ValueError(
            f"{data_dir} was prepared for ratios {manifest['ratios']}, not {ratio}; "
            "prepare it again with that ratio"
        )
    files = shard_paths(data_dir, split)
    clips = int(manifest["splits"][split]["clips"])
    if drop_remainder and not repeat and clips < batch_size:
        raise ValueError(
            f"split {split!r} of {data_dir} has {clips} clips, fewer than one batch of {batch_size} "
            "(use drop_remainder=False or repeat=True)"
        )
    if deterministic is None:
        deterministic = seed is not None or not shuffle
    if deterministic and seed is None:
        seed = 0

    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(cycle_length, len(files)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    static_batch = batch_size if drop_remainder else -1
    dataset = dataset.map(
        _decoder(ratio, int(manifest["clip_samples"]), static_batch),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
    # Interleaving hides the length; stating it lets Keras size progress bars and
    # end validation without an "input ran out of data" warning.
    if repeat:
        num_batches = tf.data.INFINITE_CARDINALITY
    else:
        num_batches = clips // batch_size if drop_remainder else -(-clips // batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(num_batches))
    options = tf.data.Options()
    options.deterministic = deterministic
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
