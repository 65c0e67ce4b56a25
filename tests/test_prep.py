"""Data preparation on real recordings: layouts, splits, clips, bad input, resume."""

import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from audiosr.audio_io import load_audio
from audiosr.data import corpora, pipeline, prepare
from audiosr.data.records import DataSetError, Manifest, write_shard_atomic
from audiosr.lowres import simulate_lowres

import corpus_fixtures

CLIP = 8000
SPEC = {
    "high": tf.io.FixedLenFeature([], tf.string),
    "lowres_2": tf.io.FixedLenFeature([], tf.string),
    "lowres_4": tf.io.FixedLenFeature([], tf.string),
    "scale": tf.io.FixedLenFeature([], tf.float32),
    "source": tf.io.FixedLenFeature([], tf.int64),
    "start": tf.io.FixedLenFeature([], tf.int64),
}


def read_records(data_dir, split):
    """Every clip of a split as numpy: dicts with float arrays and source/start."""
    clips = []
    for path in pipeline.shard_paths(data_dir, split):
        for raw in tf.data.TFRecordDataset(path):
            record = tf.io.parse_single_example(raw, SPEC)
            scale = float(record["scale"]) / 32767.0
            clip = {key: np.frombuffer(record[key].numpy(), "<i2") * scale for key in ("high", "lowres_2", "lowres_4")}
            clip.update(source=int(record["source"]), start=int(record["start"]), scale=float(record["scale"]))
            clips.append(clip)
    return clips


def shard_bytes(data_dir):
    return {p.name: p.read_bytes() for p in sorted(pathlib.Path(data_dir).glob("*.tfrecord"))}


@pytest.fixture(scope="module")
def speech_set(tmp_path_factory, test_corpus):
    """The test corpus' VCTK recordings as a plain folder -> a small train/val set."""
    out = tmp_path_factory.mktemp("speech") / "set"
    prepare.prepare_folder(test_corpus / "speech" / "vctk", out, num_clips=120, val_fraction=0.2, seed=3,
                        num_workers=0, shard_size=50, progress=False)
    return out


def test_counts_lengths_rates_and_manifest(speech_set):
    manifest = Manifest.load(speech_set)
    assert manifest.complete and manifest.sample_rate == 16000 and manifest.clip_samples == CLIP
    assert manifest.ratios == [2, 4]
    train, val = manifest.splits["train"], manifest.splits["val"]
    assert train.clips == train.requested == 120
    assert val.clips == val.requested > 0
    assert [s.clips for s in train.shards] == [50, 50, 20]
    assert len(read_records(speech_set, "train")) == 120
    assert all(len(c["high"]) == CLIP for c in read_records(speech_set, "val"))
    for source in manifest.sources:
        assert source["rate"] == 48000 and source["channels"] == 1 and len(source["sha256"]) == 64
    assert manifest.params["seed"] == 3 and manifest.params["clip_samples"] == CLIP
    # val density matches train density (clips per second of audio)
    seconds = {s: sum(r["seconds"] for r in manifest.sources if r["split"] == s) for s in ("train", "val")}
    assert val.clips == round(120 / seconds["train"] * seconds["val"])


def test_clips_are_the_recording_and_its_lowres(speech_set):
    """Each clip is the 16 kHz recording at ``start``; its inputs equal whole-file simulate_lowres."""
    manifest = Manifest.load(speech_set)
    for clip in read_records(speech_set, "train")[:6]:
        audio, _ = load_audio(manifest.sources[clip["source"]]["path"], target_rate=16000)
        start, step = clip["start"], clip["scale"] / 32767.0
        np.testing.assert_allclose(clip["high"], audio[start:start + CLIP], atol=0.51 * step)
        for ratio in (2, 4):
            whole = simulate_lowres(audio, ratio)[start:start + CLIP]
            np.testing.assert_allclose(clip[f"lowres_{ratio}"], whole, atol=0.51 * step + 1e-6)


def test_lowres_has_no_energy_above_the_low_nyquist(speech_set):
    freqs = np.fft.rfftfreq(CLIP, 1 / 16000)
    window = np.hanning(CLIP)
    clips = read_records(speech_set, "train")
    for ratio in (2, 4):
        above = freqs > 8000 / ratio
        low, high = (np.array([np.abs(np.fft.rfft(c[key] * window)) ** 2 for c in clips])
                     for key in (f"lowres_{ratio}", "high"))
        # most of the target's upper band is missing from the input ...
        assert low[:, above].sum() < 0.1 * high[:, above].sum()
        # ... and what is left there (spline images) is a tiny part of the input
        assert low[:, above].sum() / low.sum() < 1e-3


def test_silent_clips_are_rejected(speech_set):
    manifest = Manifest.load(speech_set)
    threshold_db = manifest.params["silence_db"]
    for clip in read_records(speech_set, "train")[:40]:
        audio, _ = load_audio(manifest.sources[clip["source"]]["path"], target_rate=16000)
        clip_db = 10 * np.log10(np.mean(clip["high"] ** 2) / np.mean(audio ** 2))
        assert clip_db >= threshold_db - 0.01


def test_workers_give_the_same_bytes_as_inline(tmp_path, test_corpus):
    folder = test_corpus / "speech" / "tts"
    kwargs = dict(num_clips=24, val_fraction=0.0, seed=1, shard_size=10, progress=False)
    prepare.prepare_folder(folder, tmp_path / "inline", num_workers=0, **kwargs)
    prepare.prepare_folder(folder, tmp_path / "pool", num_workers=2, **kwargs)
    inline, pooled = shard_bytes(tmp_path / "inline"), shard_bytes(tmp_path / "pool")
    assert list(inline) == ["train-00000.tfrecord", "train-00001.tfrecord", "train-00002.tfrecord"]
    assert inline == pooled


def test_vctk_092_multi_speaker_splits_are_speaker_disjoint(tmp_path, test_corpus):
    root = corpus_fixtures.make_vctk_092(tmp_path / "vctk", test_corpus)
    out = tmp_path / "multi"
    manifest = prepare.prepare_vctk(root, out, num_clips=60, num_val_speakers=2, seed=0, num_workers=0,
                                 progress=False)
    assert manifest.info["layout"] == "0.92"
    assert manifest.info["speakers"]["test"] == ["p347", "p360"]
    assert all(s["path"].endswith("_mic1.flac") for s in manifest.sources)
    assert any(s["path"].endswith("log.txt") and "not an audio file" in s["reason"] for s in manifest.skipped)
    speakers = {}
    for split in ("train", "val", "test"):
        assert manifest.splits[split].clips == manifest.splits[split].requested > 0
        speakers[split] = {manifest.sources[c["source"]]["group"] for c in read_records(out, split)}
        assert speakers[split] <= set(manifest.info["speakers"][split])
    assert not speakers["train"] & speakers["val"] and not speakers["train"] & speakers["test"]
    assert not speakers["val"] & speakers["test"]
    assert len(speakers["val"]) == 2 and len(speakers["train"]) >= 3


def test_vctk_single_speaker_and_old_layout(tmp_path, test_corpus):
    root = corpus_fixtures.make_vctk_080(tmp_path / "old", test_corpus)
    sources, skipped, info = corpora.vctk_sources(root, mode="single", num_val_utterances=2,
                                                  num_test_utterances=2)
    assert info["layout"] == "0.80" and not skipped
    assert [s.split for s in sources] == ["train"] * 4 + ["val"] * 2 + ["test"] * 2
    assert [pathlib.Path(s.path).name for s in sources[-2:]] == ["p225_007.wav", "p225_008.wav"]
    manifest = prepare.prepare_vctk(root, tmp_path / "single", num_clips=30, mode="single",
                                 num_val_utterances=2, num_test_utterances=2, num_workers=0, progress=False)
    assert manifest.splits["train"].clips == 30
    assert {pathlib.Path(s["path"]).parent.name for s in manifest.sources} == {"p225"}


def test_fma_layout_uses_metadata_splits_and_genres(tmp_path, test_corpus):
    root = corpus_fixtures.make_fma(tmp_path / "fma", test_corpus)
    manifest = prepare.prepare_fma(root, tmp_path / "out", num_clips=40, num_workers=0, progress=False)
    assert manifest.info["subset"] == "fma_medium" and manifest.info["split_method"].startswith("fma_metadata")
    by_track = {int(s["group"]): s for s in manifest.sources}
    expected = {"training": "train", "validation": "val", "test": "test"}
    for track, (split, genre) in corpus_fixtures.FMA_TRACKS.items():
        assert by_track[track]["split"] == expected[split] and by_track[track]["genre"] == genre
        assert by_track[track]["rate"] == 44100 and by_track[track]["channels"] == 2
    assert all("genre" not in by_track[t] for t in corpus_fixtures.FMA_UNLISTED)
    assert any(s["path"].endswith("checksums") for s in manifest.skipped)
    for split in ("train", "val", "test"):
        assert manifest.splits[split].clips == manifest.splits[split].requested > 0
        tracks = {manifest.sources[c["source"]]["group"] for c in read_records(tmp_path / "out", split)}
        assert all(by_track[int(t)]["split"] == split for t in tracks)


def test_bad_files_are_skipped_and_listed(tmp_path, test_corpus):
    folder = tmp_path / "mixed"
    reasons = corpus_fixtures.plant_bad_files(folder, test_corpus)
    for name in ("p257_167.flac", "p243_023.flac"):
        os.symlink(test_corpus / "speech" / "vctk" / name, folder / name)
    out = tmp_path / "out"
    manifest = prepare.prepare_folder(folder, out, num_clips=40, val_fraction=0.0, num_workers=0, shard_size=16,
                                   progress=False)
    skipped = {pathlib.Path(item["path"]).name: item["reason"] for item in manifest.skipped}
    assert set(skipped) == set(reasons)
    for name, reason in reasons.items():
        assert reason in skipped[name], (name, skipped[name])
    # the clips lost to files that failed while decoding were drawn again from good files
    assert manifest.splits["train"].clips == 40
    good = {i for i, s in enumerate(manifest.sources) if pathlib.Path(s["path"]).name not in skipped}
    assert {c["source"] for c in read_records(out, "train")} <= good
    assert {pathlib.Path(p).name for p in pipeline.split_sources(out, "train")} == {
        "p257_167.flac", "p243_023.flac"}


def test_folder_without_audio_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no audio here")
    with pytest.raises(corpora.NoAudioError, match=str(empty)):
        prepare.prepare_folder(empty, tmp_path / "out", num_clips=10, num_workers=0)
    with pytest.raises(corpora.NoAudioError, match="no such folder"):
        prepare.prepare_folder(tmp_path / "missing", tmp_path / "out", num_clips=10, num_workers=0)


def test_all_files_unusable_is_a_clear_error(tmp_path, test_corpus):
    corpus_fixtures.plant_bad_files(tmp_path / "bad", test_corpus)
    with pytest.raises(corpora.NoAudioError, match="no usable training audio"):
        prepare.prepare_folder(tmp_path / "bad", tmp_path / "out", num_clips=10, val_fraction=0.0, num_workers=0,
                            progress=False)


def test_interrupted_run_resumes_to_identical_shards(tmp_path, test_corpus, monkeypatch, dead_pid):
    folder = test_corpus / "speech" / "vctk"
    kwargs = dict(num_clips=64, val_fraction=0.2, seed=5, shard_size=16, num_workers=0, progress=False)
    prepare.prepare_folder(folder, tmp_path / "straight", **kwargs)

    out = tmp_path / "resumed"
    real_write = prepare._write_shard
    calls = []

    def write_then_stop(*args):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(args[1]["file"])
        return real_write(*args)

    monkeypatch.setattr(prepare, "_write_shard", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        prepare.prepare_folder(folder, out, **kwargs)
    monkeypatch.setattr(prepare, "_write_shard", real_write)

    manifest = Manifest.load(out, complete=False)
    assert not manifest.complete and sum(e.clips for e in manifest.splits.values()) == 32
    with pytest.raises(DataSetError, match="unfinished"):
        pipeline.make_dataset(out, "train", 2, 4)
    (out / f".partial-{dead_pid}-k1ll3d_x-train-00002.tfrecord").write_bytes(b"half a shard")  # a killed run's
    finished = {name: os.stat(out / name).st_mtime_ns for name in calls}

    prepare.prepare_folder(folder, out, **kwargs)
    assert {name: os.stat(out / name).st_mtime_ns for name in calls} == finished  # not redone
    assert not list(out.glob(".partial-*"))
    assert shard_bytes(out) == shard_bytes(tmp_path / "straight")
    assert Manifest.load(out).complete

    stamp = os.stat(out / "manifest.json").st_mtime_ns
    prepare.prepare_folder(folder, out, **kwargs)  # complete: nothing to do
    assert os.stat(out / "manifest.json").st_mtime_ns == stamp


def test_a_shard_is_never_half_written(tmp_path):
    def records():
        yield b"first record"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_shard_atomic(tmp_path / "train-00000.tfrecord", records())
    assert list(tmp_path.iterdir()) == []


def test_other_parameters_in_the_same_folder(tmp_path, test_corpus):
    folder = test_corpus / "speech" / "tts"
    kwargs = dict(val_fraction=0.0, num_workers=0, progress=False)
    prepare.prepare_folder(folder, tmp_path / "out", num_clips=8, **kwargs)
    with pytest.raises(FileExistsError, match="different preparation"):
        prepare.prepare_folder(folder, tmp_path / "out", num_clips=9, **kwargs)
    manifest = prepare.prepare_folder(folder, tmp_path / "out", num_clips=9, overwrite=True, **kwargs)
    assert manifest.splits["train"].clips == 9 and len(read_records(tmp_path / "out", "train")) == 9


def test_music_in_stereo_vorbis_and_clip_parameters(tmp_path, test_corpus):
    manifest = prepare.prepare_folder(test_corpus / "music", tmp_path / "out", num_clips=12, ratios=(4,),
                                   clip_seconds=0.25, val_fraction=0.0, num_workers=0, progress=False)
    assert manifest.ratios == [4] and manifest.clip_samples == 4000
    assert {s["channels"] for s in manifest.sources} == {1, 2}
    dataset = pipeline.make_dataset(tmp_path / "out", "train", 4, batch_size=4, shuffle=False)
    assert next(iter(dataset))[0].shape == (4, 4000, 1)
