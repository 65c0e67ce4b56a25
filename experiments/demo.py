"""The main job on the embedded default data, in a few minutes on a CPU (``make demo``).

1. prepares the synthetic set (speech-like signals and chirps, no download) in data/synthetic,
2. trains the CPU-preset AudioUNet for r = 2 for at most ``--minutes``,
3. upsamples the whole test utterances with it and with the cubic spline, and
4. prints SNR and LSD of both (the study's Figure 3 layout) and writes the
   table and a spectrogram comparison to ``--out_dir``.

The run folder (``runs/synthetic-r2-unet-cpu-s0``) keeps its checkpoints: a
second ``make demo`` goes on training where the first stopped (up to
``--epochs``), or straight to scoring once the run is finished.
``--lowres=real`` trains on inputs made the ways real low-rate files are
(docs/input-makers.md), in ``runs/synthetic-r2-unet-cpu-real-s0``; the test
files are scored on the study's decimation either way.
"""

import os

from audiosr.startup import import_tensorflow

import_tensorflow()

from absl import app, flags  # noqa: E402

from audiosr.flag_checks import define_settings_flags, require_finite_floats, settings_from_flags  # noqa: E402
from audiosr.train.experiment import RunSettings  # noqa: E402

# What the demo changes of RunSettings' defaults (the study's): a small model on the synthetic set, short
# epochs and a high learning rate for a budget of minutes.
DEMO_SETTINGS = RunSettings(model="unet", dataset="synthetic", preset="cpu", epochs=6, steps_per_epoch=25,
                            validation_steps=4, batch_size=16, learning_rate=1e-3)
# The settings a demo user may change; the rest are DEMO_SETTINGS'.
DEMO_FLAGS = ("data_dir", "ratio", "epochs", "steps_per_epoch", "batch_size", "learning_rate", "seed", "lowres")
define_settings_flags(DEMO_SETTINGS, DEMO_FLAGS)
flags.DEFINE_integer("num_clips", 3000, "Training clips of the synthetic set (as make data-demo's --num_clips).")
flags.DEFINE_float("clip_seconds", 0.5, "Clip length in seconds (as make data-demo's --clip_seconds).")
flags.DEFINE_string("logdir", "runs", "Folder of run folders.")
flags.DEFINE_string("out_dir", "results/demo", "Where the table and the spectrogram figure go.")
flags.DEFINE_float("minutes", 3.0, "Training time budget (training stops earlier after --epochs).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from audiosr.data import prepare
    from audiosr.data.pipeline import split_sources
    from audiosr.evaluation.reporting import figure3_markdown, write_figure3
    from audiosr.evaluation.scoring import plot_spectrogram_comparison, score_references, summarize
    from audiosr.inference import load_model
    from audiosr.train.callbacks import TimeBudget
    from audiosr.train.experiment import run_experiment

    settings = settings_from_flags(DEMO_SETTINGS, DEMO_FLAGS)
    ratio, data_dir = settings.ratio, settings.prepared_dir
    print("1/3 preparing the synthetic data set ...", flush=True)
    # In this process: synthesis is quick, and a spawned worker would re-import this script, TensorFlow with it.
    prepare.prepare_synthetic(data_dir, num_clips=FLAGS.num_clips, clip_seconds=FLAGS.clip_seconds, num_workers=0)
    run_dir = os.path.join(FLAGS.logdir, settings.name)

    print(f"2/3 training the CPU AudioUNet (r={ratio}) for at most {FLAGS.minutes:g} min in {run_dir} ...",
          flush=True)
    result = run_experiment(settings, run_dir, callbacks=[TimeBudget(FLAGS.minutes * 60)])

    print("3/3 upsampling the whole test utterances ...", flush=True)
    best = load_model(result.best_model_path)
    rows = score_references(split_sources(data_dir, "test"), ratio, {"UNet": best})
    summaries = {ratio: summarize(rows)}
    title = f"Synthetic test utterances, r = {ratio}: spline vs. the CPU AudioUNet"
    write_figure3(summaries, FLAGS.out_dir, stem="demo", title=title)
    plot_spectrogram_comparison(rows[0]["file"], ratio, {"UNet": best}, os.path.join(FLAGS.out_dir, "demo.png"))
    print("\n" + figure3_markdown(summaries, title=title))
    print(f"(table and spectrograms in {FLAGS.out_dir}/; training curves: tensorboard --logdir={FLAGS.logdir})")


if __name__ == "__main__":
    require_finite_floats()
    app.run(main)
