"""The tf.data pipeline and the embedded synthetic data set."""

import itertools
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest
import soundfile

from audiosr.data import pipeline, prepare, records
from audiosr.data.records import DataSetError, Manifest, quantize

CLIP = 8000


@pytest.fixture(scope="module")
def synthetic_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic") / "set"
    prepare.prepare_synthetic(out, num_clips=96, utterance_seconds=2.0, seed=7, num_workers=0, shard_size=32,
                           progress=False)
    return out


def batches(dataset):
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def test_synthetic_set_goes_through_shards_and_manifest(synthetic_set):
    manifest = Manifest.load(synthetic_set)
    assert manifest.complete and manifest.info["corpus"] == "synthetic"
    assert manifest.splits["train"].clips == 96
    assert manifest.splits["val"].clips > 0 and manifest.splits["test"].clips > 0
    assert Manifest.load(synthetic_set).splits["train"].clips == 96
    test_files = pipeline.split_sources(synthetic_set, "test")
    assert len(test_files) == manifest.info["utterances"]["test"] > 0
    for path in test_files:
        info = soundfile.info(path)
        assert pathlib.Path(path).is_relative_to(synthetic_set) and info.samplerate == 16000
        assert info.frames == 32000
    assert not any(os.path.isabs(s["path"]) for s in manifest.sources)  # the folder can move


def test_batches_have_the_contract_shapes_and_values(synthetic_set):
    dataset = pipeline.make_dataset(synthetic_set, "train", ratio=2, batch_size=8)
    assert dataset.element_spec[0].shape == (8, CLIP, 1) and dataset.element_spec[1].shape == (8, CLIP, 1)
    all_batches = batches(dataset)
    assert len(all_batches) == int(dataset.cardinality()) == 12
    for x, y in all_batches:
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert 0.5 < np.abs(y).max() <= 0.91  # synthetic clips are made with peak 0.9
        assert np.all(np.std(y, axis=1) > 1e-3)
        # the spline input follows the target closely in the low band
        assert np.mean((x - y) ** 2) < 0.5 * np.mean(y ** 2)


def test_deterministic_mode_repeats_the_order(synthetic_set):
    def first_targets(seed):
        dataset = pipeline.make_dataset(synthetic_set, "train", 4, batch_size=16, seed=seed, deterministic=True)
        return np.concatenate([y for _, y in batches(dataset)])

    once, again, other = first_targets(1), first_targets(1), first_targets(2)
    np.testing.assert_array_equal(once, again)
    assert not np.array_equal(once, other)
    np.testing.assert_array_equal(np.sort(once.ravel()), np.sort(other.ravel()))  # same clips, new order


def test_a_seed_fixes_the_training_order_without_asking_for_determinism(tmp_path):
    """experiments/train.py's call (shuffle, seed, repeat): the same seed gives the same batches, epoch after
    epoch, although 16 shards are read in parallel; each epoch is reshuffled; another seed, another order."""
    out = tmp_path / "sixteen_shards"
    prepare.prepare_synthetic(out, num_clips=64, utterance_seconds=1.0, clip_seconds=0.064, ratios=(2,), num_workers=0,
                           shard_size=4, progress=False)

    def two_epochs(seed):
        dataset = pipeline.make_dataset(out, "train", 2, batch_size=4, seed=seed, repeat=True)
        return np.concatenate([y for _, y in itertools.islice(dataset.as_numpy_iterator(), 32)])

    first = two_epochs(3)
    for _ in range(3):  # parallel reads that may deliver any ready shard first would differ here
        np.testing.assert_array_equal(two_epochs(3), first)
    assert not np.array_equal(first[:64], first[64:])
    np.testing.assert_array_equal(np.sort(first[:64].ravel()), np.sort(first[64:].ravel()))
    assert not np.array_equal(two_epochs(4), first)


# ------------------------------------------------------------------ inputs made per clip as the set is read

FOUR = "decimate,soxr,fft,butter-causal"


def drawn_methods(x, y, ratio, names):
    """The method whose input each clip got: the one of ``names`` that reproduces it from the clip's target."""
    from audiosr.lowres import simulate_lowres

    drawn = []
    for made, target in zip(x[..., 0], y[..., 0]):
        matches = [n for n in names.split(",") if np.allclose(made, simulate_lowres(target, ratio, n), atol=1e-5)]
        assert len(matches) == 1, matches
        drawn.append(matches[0])
    return drawn


def test_the_study_decimation_alone_reads_the_records_bit_for_bit(synthetic_set):
    def first_epoch(**lowres):
        dataset = pipeline.make_dataset(synthetic_set, "train", 2, batch_size=16, seed=1, **lowres)
        return np.concatenate([x for x, _ in batches(dataset)])

    stored = first_epoch()
    for spec in ("decimate", "study", "decimate, decimate"):
        np.testing.assert_array_equal(first_epoch(lowres=spec), stored)


def test_a_mix_draws_every_method_reproducibly_and_anew_each_epoch(synthetic_set):
    def two_epochs(seed):
        dataset = pipeline.make_dataset(synthetic_set, "train", 2, batch_size=16, seed=seed, repeat=True,
                                        lowres=FOUR)
        return [np.concatenate(a) for a in zip(*itertools.islice(dataset.as_numpy_iterator(), 12))]

    x, y = two_epochs(3)
    again, _ = two_epochs(3)
    np.testing.assert_array_equal(again, x)
    assert not np.array_equal(two_epochs(4)[0], x)
    drawn = drawn_methods(x, y, 2, FOUR)
    assert set(drawn) == set(FOUR.split(","))
    # The same clip in epoch 2 (the set has 96): drawn again, so about 3 in 4 get another method.
    first = {y[i].tobytes(): drawn[i] for i in range(96)}
    changed = sum(first[y[i].tobytes()] != drawn[i] for i in range(96, 192))
    assert 50 <= changed <= 90
    # What the study's method made on the fly is the stored input, up to its int16 coding, away from the
    # clip's edges (the stored one was made with the recording around the clip).
    stored = {t.tobytes(): s for s, t in zip(*[np.concatenate(a) for a in zip(*batches(
        pipeline.make_dataset(synthetic_set, "train", 2, batch_size=16, shuffle=False)))])}
    for i in (i for i, name in enumerate(drawn) if name == "decimate"):
        np.testing.assert_allclose(x[i, 256:-256], stored[y[i].tobytes()][256:-256], atol=2e-4)


def test_validation_draws_are_fixed_per_clip(synthetic_set):
    def one_pass(batch_size):
        dataset = pipeline.make_dataset(synthetic_set, "val", 4, batch_size=batch_size, shuffle=False,
                                        drop_remainder=False, lowres="real")
        return [np.concatenate(a) for a in zip(*batches(dataset))]

    x, y = one_pass(5)
    np.testing.assert_array_equal(one_pass(5)[0], x)
    np.testing.assert_array_equal(one_pass(3)[0], x)  # the clip fixes its draw, not its batch
    assert x.shape == y.shape and np.all(np.isfinite(x))


def test_an_input_maker_that_cannot_make_the_rate_is_refused(synthetic_set):
    with pytest.raises(ValueError, match="mp3 cannot make 4000 Hz"):
        pipeline.make_dataset(synthetic_set, "train", 4, batch_size=4, lowres="soxr,mp3")
    with pytest.raises(ValueError, match="unknown low-rate method 'sox'"):
        pipeline.make_dataset(synthetic_set, "train", 2, batch_size=4, lowres="sox")


def test_where_a_prepared_set_lives(tmp_path, monkeypatch):
    """data/ of the checkout the package runs from, whatever the working folder; $AUDIOSR_DATA_ROOT elsewhere."""
    root = pathlib.Path(__file__).resolve().parents[1]
    monkeypatch.delenv("AUDIOSR_DATA_ROOT", raising=False)
    found = []
    for folder in (root, tmp_path):
        monkeypatch.chdir(folder)
        found.append(pipeline.dataset_dir("vctk"))
    installed = os.path.join(os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "audiosr")
    assert found[0] == found[1] == os.path.join(str(root / "data") if pipeline.CHECKOUT == root else installed, "vctk")
    monkeypatch.setenv("AUDIOSR_DATA_ROOT", str(tmp_path / "sets"))
    assert pipeline.dataset_dir("vctk") == str(tmp_path / "sets" / "vctk")
    assert [pipeline.dataset_name("vctk", mode) for mode in ("multi", "single")] == ["vctk", "vctk-single"]
    assert [pipeline.dataset_name("fma", subset) for subset in ("medium", "small")] == ["fma", "fma-small"]


def test_unshuffled_order_and_partial_batches(synthetic_set):
    dataset = pipeline.make_dataset(synthetic_set, "val", 2, batch_size=5, shuffle=False, deterministic=True,
                                drop_remainder=False)
    sizes = [x.shape[0] for x, _ in batches(dataset)]
    assert sum(sizes) == Manifest.load(synthetic_set).splits["val"].clips and max(sizes) == 5


def test_repeat_runs_past_one_epoch(synthetic_set):
    dataset = pipeline.make_dataset(synthetic_set, "val", 2, batch_size=4, repeat=True, seed=0)
    steps = Manifest.load(synthetic_set).splits["val"].clips // 4 + 3
    assert len(list(dataset.take(steps))) == steps


def test_records_are_the_bytes_tensorflow_writes(tmp_path, rng):
    """Preparation encodes records by hand (no TensorFlow): they must be what tf.train.Example and
    tf.io.TFRecordWriter write, and read back through tf.data."""
    import tensorflow as tf

    written = []
    for length, source, start in ((0, 0, 0), (1, 3, 7), (4097, 2**40, 2**62)):
        high, low2, low4 = (rng.integers(-32768, 32768, length).astype(np.int16) for _ in range(3))
        scale = np.float32(rng.random() * 2)
        record = records.encode_clip(high, {2: low2, 4: low4}, scale, source, start)

        def raw(values):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[values.astype("<i2").tobytes()]))

        feature = {"high": raw(high), "lowres_2": raw(low2), "lowres_4": raw(low4),
                   "scale": tf.train.Feature(float_list=tf.train.FloatList(value=[scale])),
                   "source": tf.train.Feature(int64_list=tf.train.Int64List(value=[source])),
                   "start": tf.train.Feature(int64_list=tf.train.Int64List(value=[start]))}
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        assert record == example.SerializeToString(deterministic=True)
        written.append((record, high, low4, scale))
    records.write_shard_atomic(tmp_path / "mine.tfrecord", [r for r, *_ in written])
    with tf.io.TFRecordWriter(str(tmp_path / "tf.tfrecord")) as writer:
        for record, *_ in written:
            writer.write(record)
    assert (tmp_path / "mine.tfrecord").read_bytes() == (tmp_path / "tf.tfrecord").read_bytes()
    spec = records.training_features(4)
    for serialized, (_, high, low4, scale) in zip(tf.data.TFRecordDataset(str(tmp_path / "mine.tfrecord")), written):
        parsed = tf.io.parse_single_example(serialized, spec)
        assert np.array_equal(tf.io.decode_raw(parsed["high"], tf.int16).numpy(), high)
        assert np.array_equal(tf.io.decode_raw(parsed["lowres_4"], tf.int16).numpy(), low4)
        assert parsed["scale"].numpy() == scale


def test_quantization_keeps_about_90_db(rng):
    signals = [rng.standard_normal(CLIP).astype(np.float32) * 0.3 for _ in range(3)]
    coded, scale = quantize(signals)
    for original, values in zip(signals, coded):
        error = values.astype(np.float64) * float(scale) / 32767.0 - original
        assert values.dtype == np.int16 and np.abs(error).max() <= 0.501 * float(scale) / 32767.0
        assert 10 * np.log10(np.mean(original ** 2) / np.mean(error ** 2)) > 75


def test_clear_errors(synthetic_set, tmp_path):
    with pytest.raises(ValueError, match=r"ratios \[2, 4\], not 3"):
        pipeline.make_dataset(synthetic_set, "train", 3, batch_size=4)
    with pytest.raises(ValueError, match="no clips in split 'dev'"):
        pipeline.make_dataset(synthetic_set, "dev", 2, batch_size=4)
    with pytest.raises(ValueError, match="fewer than one batch"):
        pipeline.make_dataset(synthetic_set, "val", 2, batch_size=1000)
    with pytest.raises(DataSetError, match="not a prepared data set"):
        pipeline.make_dataset(tmp_path, "train", 2, batch_size=4)
    with pytest.raises(ValueError, match="no split 'dev'"):
        pipeline.split_sources(synthetic_set, "dev")


def test_a_modified_shard_is_refused(synthetic_set, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    manifest = Manifest.load(synthetic_set)
    for shard in manifest.splits["train"].shards:
        (copy / shard.file).write_bytes((synthetic_set / shard.file).read_bytes())
    (copy / "manifest.json").write_text(json.dumps(manifest.to_json()))
    with open(copy / manifest.splits["train"].shards[0].file, "ab") as f:
        f.write(b"extra")
    with pytest.raises(ValueError, match="modified after preparation"):
        pipeline.make_dataset(copy, "train", 2, batch_size=4)


def test_model_fit_consumes_the_dataset(synthetic_set):
    from audiosr.models import build_model

    model = build_model("unet", ratio=2, preset="tiny", input_length=CLIP, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
    train = pipeline.make_dataset(synthetic_set, "train", 2, batch_size=8, repeat=True, seed=0)
    val = pipeline.make_dataset(synthetic_set, "val", 2, batch_size=4, shuffle=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ran out of data")
        history = model.fit(train, steps_per_epoch=3, epochs=1, validation_data=val, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and np.isfinite(history.history["val_snr"][0])


DISTRIBUTED = textwrap.dedent("""
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from audiosr.data import pipeline
    from audiosr.models import build_model

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    dataset = pipeline.make_dataset(sys.argv[1], "train", 2, batch_size=8, repeat=True, seed=0)
    x, y = next(iter(strategy.experimental_distribute_dataset(dataset)))
    shapes = [tuple(t.shape) for t in strategy.experimental_local_results(x)]
    assert shapes == [(4, 8000, 1), (4, 8000, 1)], shapes
    with strategy.scope():
        model = build_model("unet", ratio=2, preset="tiny", input_length=8000, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-4))
    history = model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
    print("replicas", strategy.num_replicas_in_sync, "loss", history.history["loss"][0])
""")


@pytest.mark.slow
def test_works_under_a_mirrored_strategy(synthetic_set):
    """In a fresh process: logical devices must be set before TensorFlow starts."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", DISTRIBUTED, str(synthetic_set)], capture_output=True,
                            text=True, timeout=300, env=env, cwd=pathlib.Path(__file__).parents[1])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas 2 loss" in result.stdout
