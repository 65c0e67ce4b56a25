"""Is training bounded by the model, never by data? Preparation and pipeline speed.

1. Preparation of ../shared/data (every recording, linked --copies times so
   that start-up costs weigh as little as in a real corpus), with the default
   2 workers:
   - at the study's clip density (VCTK: 50,000 clips of 0.5 s from 44 h of
     audio, 0.16 s of clip per second of audio), as seconds of source audio
     prepared per wall second ("x real time"; goal >= 100);
   - dense (more clip audio than source audio), as clip seconds per second.
   Wall-clock figures suffer when others share the machine, so the CPU time
   of the main process and its workers is turned into the same figures for
   otherwise idle cores.
2. The tf.data pipeline (make_dataset, shuffling, parallel reads) in clips/s,
   against the clips/s that one training step of the paper preset (and of
   the cpu preset; --presets) consumes, measured in the same run (goal >= 10x the paper
   model).
3. The pipeline that makes each input as it reads the clip, one low-rate
   method drawn per clip from the ``--mix`` (``real``: what real low-rate
   files come from; audiosr.lowres), against the training clips/s of the
   ``fast`` preset's UNet (batch 16, the dense set's 8192-sample clips), for
   each ratio (goal >= 10x). Both are min / median / max over ``--rounds``;
   the ratio's min is the slowest pipeline round over the fastest model
   round (its max the other way round).

    python bench/bench_data.py [--copies=4] [--paper_steps=2]
"""

import os
import pathlib
import resource
import tempfile
import time

from absl import app, flags

from audiosr.data import prepare
from audiosr.data.corpora import audio_in_folder

import machine

flags.DEFINE_string("shared_data", str(pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"),
                    "The real recordings.")
flags.DEFINE_integer("copies", 4, "Times each recording is linked into the benchmark corpus.")
flags.DEFINE_integer("dense_clips", 4000, "Training clips of the dense preparation (also used by the pipeline).")
flags.DEFINE_integer("num_workers", 2, "Preparation processes.")
flags.DEFINE_integer("batch_size", 64, "Pipeline batch size.")
flags.DEFINE_integer("pipeline_batches", 150, "Batches timed in the pipeline.")
flags.DEFINE_list("presets", ["cpu", "paper"], "Presets whose training steps the pipeline is compared with.")
flags.DEFINE_integer("paper_batch", 2, "Batch of the timed paper-preset training steps.")
flags.DEFINE_integer("paper_steps", 2, "Timed paper-preset training steps (after one warm-up step).")
flags.DEFINE_float("clip_seconds", 0.512, "Clip length of the dense preparation (0.512 s: the fast preset's "
                   "8192-sample clips).")
flags.DEFINE_string("mix", "real", "Low-rate methods drawn per clip by the on-the-fly pipeline (a mix or a list).")
flags.DEFINE_list("mix_ratios", ["2", "4"], "Ratios of the on-the-fly pipeline against the fast UNet.")
flags.DEFINE_integer("rounds", 5, "Timed rounds of the on-the-fly pipeline and of the fast UNet.")
flags.DEFINE_integer("mix_batches", 30, "Batches of 16 per timed pipeline round (after as many to warm up).")
flags.DEFINE_integer("fast_steps", 4, "Fast-UNet training steps per timed round (after one warm-up step).")
FLAGS = flags.FLAGS
MIX_BATCH = 16

STUDY_DENSITY = 50000 * 0.5 / (44 * 3600)  # clip seconds per second of VCTK audio


def link_corpus(shared, folder, copies):
    """``copies`` symlinked copies of every shared recording; returns their total seconds."""
    import soundfile

    audio, _ = audio_in_folder(shared)
    seconds = 0.0
    for copy in range(copies):
        for path in audio:
            link = folder / f"copy{copy}" / os.path.relpath(path, shared)
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, link)
            seconds += soundfile.info(path).duration
    return len(audio) * copies, seconds


def _cpu_seconds():
    """CPU time of this process and its finished workers (not disturbed by other users of the machine)."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def timed_prep(folder, out_dir, num_clips, clip_seconds=0.5):
    """Wall seconds, CPU seconds and manifest of one preparation."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    manifest = prepare.prepare_folder(folder, out_dir, num_clips, val_fraction=0.1, num_workers=FLAGS.num_workers,
                                      clip_seconds=clip_seconds, progress=False)
    return time.perf_counter() - start, _cpu_seconds() - cpu, manifest


def report_prep(label, seconds, wall, cpu, manifest):
    clips = sum(e.clips for e in manifest.splits.values())
    clip_audio = clips * manifest.clip_seconds
    cores = min(FLAGS.num_workers, os.cpu_count()) or 1
    print(f"prep, {label} ({clips} clips): {wall:.1f} s wall -> {seconds / wall:.0f}x real time (source audio), "
          f"{clip_audio / wall:.0f}x (clip audio); {cpu:.1f} CPU s -> {seconds * cores / cpu:.0f}x and "
          f"{clip_audio * cores / cpu:.0f}x on {cores} idle cores")


def pipeline_rate(data_dir):
    from audiosr.data.pipeline import make_dataset

    dataset = make_dataset(data_dir, "train", 4, FLAGS.batch_size, repeat=True, seed=0)
    iterator = iter(dataset)
    for _ in range(10):
        next(iterator)
    start = time.perf_counter()
    for _ in range(FLAGS.pipeline_batches):
        next(iterator)
    return FLAGS.pipeline_batches * FLAGS.batch_size / (time.perf_counter() - start)


def training_rate(data_dir, preset, batch, steps):
    """Clips per second consumed by train steps of a UNet (after one warm-up step)."""
    import keras

    from audiosr.data.pipeline import make_dataset
    from audiosr.models import build_model

    x, y = next(iter(make_dataset(data_dir, "train", 4, batch, seed=0)))
    model = build_model("unet", ratio=4, preset=preset, input_length=x.shape[1], seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
    model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * batch / (time.perf_counter() - start), model.count_params()


def mix_against_fast(data_dir, ratio):
    """Clips/s of the pipeline drawing ``--mix`` per clip and of the fast UNet's training steps, as Spreads."""
    from audiosr.data.pipeline import make_dataset
    from audiosr.data.records import Manifest
    from audiosr.train.experiment import build_compiled_model

    dataset = make_dataset(data_dir, "train", ratio, MIX_BATCH, repeat=True, seed=0, lowres=FLAGS.mix)
    iterator = iter(dataset)
    x, y = next(iterator)

    def read():
        for _ in range(FLAGS.mix_batches):
            next(iterator)

    pipeline = machine.repeat(read, FLAGS.rounds).scaled(FLAGS.mix_batches * MIX_BATCH)
    iterator = None  # no reading ahead while the model is timed
    model = build_compiled_model("unet", ratio, "fast", Manifest.load(data_dir).clip_samples, 1e-3, seed=0)

    def train():
        for _ in range(FLAGS.fast_steps):
            model.train_on_batch(x, y)

    training = machine.repeat(train, FLAGS.rounds).scaled(FLAGS.fast_steps * MIX_BATCH)
    return pipeline, training


def main(argv):
    del argv
    print(machine.describe())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        files, seconds = link_corpus(pathlib.Path(FLAGS.shared_data), tmp / "corpus", FLAGS.copies)
        print(f"corpus: {files} files, {seconds:.0f} s of audio (16-48 kHz, mono/stereo, FLAC/Vorbis), "
              f"{FLAGS.num_workers} workers, {os.cpu_count()} cores")

        study_clips = round(STUDY_DENSITY * seconds * 0.9 / 0.5)
        report_prep("study density", seconds, *timed_prep(tmp / "corpus", tmp / "study", study_clips))
        report_prep("dense", seconds, *timed_prep(tmp / "corpus", tmp / "dense", FLAGS.dense_clips,
                                                  FLAGS.clip_seconds))

        pipeline = pipeline_rate(tmp / "dense")
        print(f"pipeline: {pipeline:.0f} clips/s (batch {FLAGS.batch_size}, ratio 4, shuffled, parallel reads)")
        for preset in FLAGS.presets:
            batch, steps = (FLAGS.paper_batch, FLAGS.paper_steps) if preset == "paper" else (8, 5)
            rate, params = training_rate(tmp / "dense", preset, batch, steps)
            print(f"{preset} preset ({params / 1e6:.1f} M params) trains on {rate:.2f} clips/s (batch {batch}); "
                  f"the pipeline is {pipeline / rate:.0f}x faster")

        for ratio in sorted({int(r) for r in FLAGS.mix_ratios}):
            made, trained = mix_against_fast(tmp / "dense", ratio)
            faster = machine.Spread(made.min / trained.max, made.median / trained.median, made.max / trained.min)
            print(f"r={ratio}: pipeline making inputs from the {FLAGS.mix!r} mix {made:.0f} clips/s; fast UNet "
                  f"trains on {trained:.1f} clips/s (batch {MIX_BATCH}); the pipeline is {faster:.1f}x faster "
                  "(min / median / max)")


if __name__ == "__main__":
    app.run(main)
