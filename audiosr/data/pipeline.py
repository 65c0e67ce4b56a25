"""Reading prepared data sets: the tf.data pipeline that feeds the models, and their recordings.

The format (shards, records, manifest) is defined in :mod:`audiosr.data.records`.
Only shards listed in a *complete* manifest are read, so a half-finished
preparation never is. The model input is the spline stored in the records
(the study's decimation) or made from each clip's target as it is read, by
a low-rate method drawn per clip (:mod:`audiosr.lowres`).

Where a prepared set lives is decided here only (:func:`data_root`,
:func:`dataset_dir`, :func:`dataset_name`): the data_prep/ scripts write
there and the experiments read from there, whatever folder they run from,
so a set is named once (``--dataset``).

TensorFlow is imported by the functions that build the pipeline only: the
data_prep/ scripts import this module for the folder of a set, and their
spawned worker processes re-import the script, which must not cost each of
them TensorFlow's start-up and memory.
"""

import os
import pathlib

from audiosr.data.records import (
    INT16_FULL_SCALE, MANIFEST_NAME, DataSetError, Manifest, lowres_key, training_features,
)
from audiosr.lowres import STUDY_METHOD, design_filters, is_study, parse_methods, simulate_lowres_batch

# The checkout this package runs from (a source tree: setup.py beside the package), if it does.
CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
# The corpus as the study prepares it keeps the plain name (data/vctk, data/fma), the name its
# make train-* targets train on; any other variant gets it as a suffix (data/vctk-single, data/fma-small).
STUDY_VARIANTS = {"vctk": "multi", "fma": "medium"}


def dataset_name(corpus, variant):
    """Name of a prepared set: ``dataset_name("vctk", "multi") == "vctk"``, ``("vctk", "single") -> "vctk-single"``."""
    return corpus if STUDY_VARIANTS.get(corpus) == variant else f"{corpus}-{variant}"


def data_root():
    """The folder of the prepared sets, the same from any working folder: ``$AUDIOSR_DATA_ROOT`` if set, else
    ``data/`` of the checkout the package runs from (where the Makefile and data_prep/ put them), else, for
    an installed package, ``$XDG_DATA_HOME/audiosr`` (``~/.local/share/audiosr``)."""
    if os.environ.get("AUDIOSR_DATA_ROOT"):
        return os.path.abspath(os.environ["AUDIOSR_DATA_ROOT"])
    if (CHECKOUT / "setup.py").is_file():
        return str(CHECKOUT / "data")
    return os.path.join(os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "audiosr")


def dataset_dir(name):
    """Folder of the prepared set ``name``: ``<data root>/<name>`` (:func:`data_root`)."""
    return os.path.join(data_root(), name)


def shard_paths(data_dir, split):
    """Absolute paths of the shards of ``split``, checked against the manifest."""
    data_dir = os.fspath(data_dir)
    entry = Manifest.load(data_dir).split(split, data_dir)
    paths = []
    for shard in entry.shards:
        path = os.path.join(data_dir, shard.file)
        if not os.path.isfile(path):
            raise DataSetError(f"{path} is listed in {MANIFEST_NAME} but missing")
        if os.path.getsize(path) != shard.bytes:
            raise DataSetError(
                f"{path} is {os.path.getsize(path)} bytes but {MANIFEST_NAME} says {shard.bytes}: "
                "the data set was modified after preparation"
            )
        paths.append(path)
    return paths


def split_sources(data_dir, split):
    """Absolute paths of the usable recordings of ``split`` (for whole-utterance evaluation)."""
    data_dir = os.fspath(data_dir)
    manifest = Manifest.load(data_dir, complete=False)
    if split not in manifest.splits:
        raise ValueError(f"{data_dir} has no split {split!r}; it has {sorted(manifest.splits)}")
    skipped = {item["path"] for item in manifest.skipped}
    return [
        os.path.normpath(os.path.join(data_dir, source["path"]))
        for source in manifest.sources
        if source["split"] == split and source["path"] not in skipped
    ]


def _decoder(ratio, clip_samples, batch_size, methods=None, fixed_draws=False):
    """Parse a batch of serialized clips into (spline_input, high_res) float32.

    ``methods=None``: the spline input stored in the records. Otherwise it is
    made from ``high`` by :func:`audiosr.lowres.simulate_lowres_batch`, one
    method drawn per clip, seeded by the clip's ``source`` and ``start``
    (``fixed_draws``: the same draw every pass) or by the batch's random
    number and the clip's place in the batch.
    """
    import tensorflow as tf

    key = lowres_key(ratio)
    spec = training_features(ratio if methods is None else None)

    def make_inputs(high, seeds):
        return simulate_lowres_batch(high, ratio, methods, seeds)

    def decode(serialized, batch_random=None):
        parsed = tf.io.parse_example(serialized, spec)
        gain = tf.reshape(parsed["scale"] / INT16_FULL_SCALE, [-1, 1, 1])

        def to_float(raw):
            values = tf.io.decode_raw(raw, tf.int16, little_endian=True)
            return tf.cast(tf.reshape(values, [batch_size, clip_samples, 1]), tf.float32) * gain

        high = to_float(parsed["high"])
        if methods is None:
            return to_float(parsed[key]), high
        if fixed_draws:
            seeds = tf.stack([parsed["source"], parsed["start"]], axis=1)
        else:
            places = tf.range(tf.shape(high, out_type=tf.int64)[0])
            seeds = tf.stack([tf.fill(tf.shape(places), batch_random), places], axis=1)
        spline = tf.numpy_function(make_inputs, [high[..., 0], seeds], tf.float32, stateful=False)
        return tf.reshape(spline, tf.shape(high)), high

    return decode


def make_dataset(data_dir, split, ratio, batch_size, shuffle=True, seed=None, deterministic=None,
                 repeat=False, drop_remainder=True, shuffle_buffer=1024, cycle_length=8, lowres=STUDY_METHOD):
    """Batches of ``(spline_input, high_res)``, float32, shape (batch, clip_samples, 1).

    ``lowres`` says how the low-rate recording behind each spline input is
    made (:func:`audiosr.lowres.parse_methods`: a mix name or a comma list
    of methods). The study's ``decimate`` alone reads the input stored in
    the records. Anything else makes it from each clip's target as batches
    are read: one method drawn per clip, uniformly over the names (a name
    listed twice is drawn twice as often). Shuffled, the draws follow
    ``seed`` like the order does (the same seed gives the same draws, each
    pass new ones); unshuffled (validation), each clip gets the same draw
    on every pass, fixed by the clip itself, so epochs compare.

    Shards are read in parallel (interleaved) and shuffled by file and by a
    ``shuffle_buffer`` of clips; parsing is vectorised per batch. The order
    is a function of ``seed`` (or fixed, unshuffled) unless ``shuffle`` is on
    with ``seed=None`` -- a fresh order each time -- or ``deterministic=False``,
    which lets parallel reads deliver whichever shard is ready first
    (``deterministic=True`` with ``seed=None`` uses seed 0). Each pass over
    the data (each epoch, or each repetition) is shuffled anew, in the same
    sequence for the same seed; a new pipeline (a resumed run) starts that
    sequence again. The result feeds ``model.fit`` directly and
    ``strategy.experimental_distribute_dataset``; across several workers
    each one reads the whole split and keeps its part of every batch
    (sharding by DATA, see docs/multi-worker.md), so they must all use the
    same ``seed``.
    """
    import tensorflow as tf

    data_dir = os.fspath(data_dir)
    methods = parse_methods(lowres, ratio)
    manifest = Manifest.load(data_dir)
    manifest.check_ratio(ratio, data_dir)
    manifest.check_sample_rate(data_dir)
    files = shard_paths(data_dir, split)
    clips = manifest.splits[split].clips
    if drop_remainder and not repeat and clips < batch_size:
        raise DataSetError(
            f"split {split!r} of {data_dir} has {clips} clips, fewer than one batch of {batch_size}: "
            "use a smaller batch size (or drop_remainder=False / repeat=True) or prepare more clips"
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
    drawn = None if is_study(methods) else methods
    if drawn:
        design_filters(drawn, ratio)
    if drawn and shuffle:  # one random number per batch: a new stream each pass, the same for the same seed
        dataset = tf.data.Dataset.zip(dataset, tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True))
    static_batch = batch_size if drop_remainder else -1
    dataset = dataset.map(
        _decoder(ratio, manifest.clip_samples, static_batch, drawn, fixed_draws=not shuffle),
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
    # FILE sharding refuses fewer shards than workers and gives uneven shards uneven step counts.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
