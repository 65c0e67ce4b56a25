"""Flags shared by the data_prep/ scripts and the summary they print.

Defaults are the study's: 50,000 random 0.5 s clips at 16 kHz, low-res
inputs for ratios 2 and 4.
"""

import functools
import os

from absl import flags

from audiosr.data.corpora import NoAudioError
from audiosr.data.download import DownloadError
from audiosr.data.pipeline import dataset_dir
from audiosr.lowres import SAMPLE_RATE

FLAGS = flags.FLAGS


def define_common(num_clips=50000):
    flags.DEFINE_string("out_dir", None, "Output folder (default: data/<name of the set>, where "
                        "experiments/train.py --dataset=<name> and experiments/report.py look).")
    flags.DEFINE_integer("num_clips", num_clips, "Training clips; val/test get as many per second of audio.")
    flags.DEFINE_float("clip_seconds", 0.5, "Clip length in seconds.")
    flags.DEFINE_integer("sample_rate", SAMPLE_RATE,
                         f"Rate of the high-res clips (Hz); training reads {SAMPLE_RATE} Hz sets only.")
    flags.DEFINE_list("ratios", ["2", "4"], "Upsampling ratios to precompute spline inputs for.")
    flags.DEFINE_integer("seed", 0, "Seed of splits and clip positions.")
    flags.DEFINE_integer("num_workers", 2, "Decoding processes (0 or 1: in the main process).")
    flags.DEFINE_integer("shard_size", 500, "Clips per TFRecord shard (the unit of resuming).")
    flags.DEFINE_float("silence_db", -30.0, "Clips quieter than this relative to their recording are redrawn.")
    flags.DEFINE_bool("overwrite", False, "Replace a different preparation found in --out_dir.")


def prep_options():
    """Keyword arguments of audiosr.data.prepare.prepare_* from the common flags."""
    return dict(clip_seconds=FLAGS.clip_seconds, sample_rate=FLAGS.sample_rate,
                ratios=[int(r) for r in FLAGS.ratios], seed=FLAGS.seed, num_workers=FLAGS.num_workers,
                shard_size=FLAGS.shard_size, silence_db=FLAGS.silence_db, overwrite=FLAGS.overwrite)


def output_dir(name):
    """--out_dir, or the folder the experiments read for ``--dataset=name``."""
    return FLAGS.out_dir or dataset_dir(name)


def summary(manifest, out_dir, name):
    counts = ", ".join(f"{split} {entry.clips}" for split, entry in manifest.splits.items())
    use = (f"train and evaluate on it with --dataset={name}" if os.path.abspath(out_dir) == dataset_dir(name)
           else "train and evaluate on it with --data_dir=" + out_dir)
    return (f"{out_dir}: {counts} clips of {manifest.clip_samples} samples at {manifest.sample_rate} Hz, "
            f"ratios {manifest.ratios}; {len(manifest.sources)} source files, "
            f"{len(manifest.skipped)} skipped (listed in manifest.json); {use}")


def clean_errors(main):
    """Expected failures (offline, no audio, a different set in --out_dir) end with one line, not a traceback."""

    @functools.wraps(main)
    def wrapped(argv):
        try:
            return main(argv)
        except (DownloadError, NoAudioError, FileExistsError) as error:
            raise SystemExit(f"error: {error}") from None

    return wrapped
