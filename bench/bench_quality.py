"""Quality check on your own recordings: train on one folder, score whole files of another.

Cuts training clips from ``--train_dir`` (one or more folders, comma
separated; 10 % of the files go to validation), trains the CPU preset of
each model in ``--models`` for ``--steps`` optimizer steps per model and
ratio, or, without ``--steps``, for ``--budget_minutes`` of wall-clock time
(keeping the weights with the best validation loss), then
upsamples every file of ``--test_dir`` whole and prints the study's Figure 3
table: SNR (dB, higher is better) and LSD (lower is better) of the spline
baseline and of each model, for each ratio in ``--scales``, one table per
input maker in ``--lowres`` (how the test files' low-rate versions are made;
default the study's ``decimate``). ``--train_lowres`` says how the training
inputs are made (``decimate``, or a mix such as ``real``: one method drawn
per clip; see docs/input-makers.md).

    python bench/bench_quality.py --train_dir=speech/train --test_dir=speech/test \\
        --scales=2,4 --models=unet,gan,wgan --steps=300
    python bench/bench_quality.py --train_dir=speech/train --test_dir=speech/test --preset=fast \\
        --models=unet --steps=1000 --train_lowres=real --lowres=decimate,soxr,polyphase,fft,butter-causal,telephone

A step budget gives the same training wherever and whenever it runs; a time
budget gives more steps on a faster or quieter machine.

Model names: unet, gan, wgan, optionally with -c for the content loss
(``--content_network`` names the feature network). Prepared clips are cached
in ``--work_dir`` (reused while the inputs and settings are the same,
replaced otherwise); training runs start afresh each time.
"""

import os
import shutil
import tempfile

from audiosr.startup import import_tensorflow

import_tensorflow()

from absl import app, flags  # noqa: E402

from audiosr.flag_checks import define_settings_flags, require_finite_floats, settings_from_flags  # noqa: E402
from audiosr.lowres import STUDY_METHOD  # noqa: E402
from audiosr.train.experiment import RunSettings  # noqa: E402

# What the benchmark changes of RunSettings' defaults (the study's): the CPU preset, small batches at a higher
# learning rate, a validation every 100 steps on 10 batches, one line per epoch.
BENCH_SETTINGS = RunSettings(dataset="bench", preset="cpu", batch_size=16, learning_rate=3e-4, steps_per_epoch=100,
                             validation_steps=10, verbose=2)
# The settings given as flags (--train_lowres: how the training inputs are made; --lowres names the test
# files' input makers); model, ratio, data and epochs are set per run.
BENCH_FLAGS = ("preset", "batch_size", "learning_rate", "steps_per_epoch", "validation_steps", "lambda_adv",
               "n_critic", "content_network", "content_weight", "seed", "verbose", "lowres")
RENAMED = {"lowres": "train_lowres"}

flags.DEFINE_string("train_dir", None, "Folder(s) of training recordings, comma separated.", required=True)
flags.DEFINE_string("test_dir", None, "Folder(s) of test recordings, comma separated.", required=True)
flags.DEFINE_list("scales", ["2", "4"], "Upsampling ratios.")
flags.DEFINE_list("models", ["unet", "gan", "wgan"], "Models: unet, gan, wgan (+ -c).")
flags.DEFINE_integer("steps", 0, "Training steps per model and ratio (0: use --budget_minutes instead).",
                     lower_bound=0)
flags.DEFINE_float("budget_minutes", 10.0, "Training time per model and ratio, when --steps is not given.")
flags.DEFINE_integer("num_clips", 4000, "Training clips to cut.")
flags.DEFINE_float("clip_seconds", 0.512, "Clip length (a multiple of the preset's stride at 16 kHz: 0.512 s = "
                   "8192 samples).")
flags.DEFINE_integer("max_test_files", 0, "Score only the first N test files (0: all).")
flags.DEFINE_string("lowres", STUDY_METHOD, "Input makers of the test files' low-rate versions, comma separated; "
                    "one table each.")
flags.DEFINE_string("work_dir", os.path.join(tempfile.gettempdir(), "audiosr-bench-quality"),
                    "Cache of prepared clips and scratch space for runs.")
flags.DEFINE_string("out_dir", None, "Also write the table (markdown, CSV) and per-file scores.")
define_settings_flags(BENCH_SETTINGS, BENCH_FLAGS, RENAMED)
FLAGS = flags.FLAGS


def training_settings(flag_values=FLAGS):
    """:data:`BENCH_SETTINGS` with the flags' values: the settings every run starts from."""
    return settings_from_flags(BENCH_SETTINGS, BENCH_FLAGS, RENAMED, flag_values)


def prepare_training_clips(folders, out_dir, ratios, num_clips, clip_seconds, seed):
    """Clips of every recording under ``folders`` (90 % train / 10 % val by file) in ``out_dir``."""
    from audiosr.data import corpora, prepare

    sources, skipped = [], []
    for folder in folders:
        found, passed_over = corpora.folder_sources(folder, val_fraction=0.1, test_fraction=0.0, seed=seed)
        sources += found
        skipped += passed_over
    return prepare.prepare_corpus(sources, out_dir, num_clips, ratios=ratios, seed=seed, clip_seconds=clip_seconds,
                               skipped=skipped, info={"corpus": "bench_quality", "folders": folders},
                               overwrite=True)


def train_one(name, ratio, data_dir, run_dir, settings):
    """Train model ``name`` for the step or time budget from ``settings``; returns (best model,
    :class:`RunResult`)."""
    import dataclasses

    import keras

    from audiosr.models.naming import parse_model_name
    from audiosr.train.callbacks import StepBudget, TimeBudget
    from audiosr.train.experiment import run_experiment

    kind, content = parse_model_name(name)
    if FLAGS.steps:
        budget, epochs = StepBudget(FLAGS.steps), -(-FLAGS.steps // settings.steps_per_epoch)
    else:
        budget, epochs = TimeBudget(FLAGS.budget_minutes * 60), 100000
    settings = dataclasses.replace(settings, model=kind, content=content, ratio=ratio, data_dir=data_dir,
                                   epochs=epochs)
    result = run_experiment(settings, run_dir, callbacks=[budget])
    return keras.saving.load_model(result.best_model_path), result


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from audiosr.data import corpora
    from audiosr.evaluation.reporting import figure3_markdown, lowres_stem, write_figure3
    from audiosr.evaluation.scoring import by_lowres, input_makers, score_references, summarize, write_scores_csv
    from audiosr.lowres import parse_methods
    from audiosr.models.naming import model_label, parse_model_name

    settings = training_settings()
    ratios = sorted({int(r) for r in FLAGS.scales})
    makers = input_makers(FLAGS.lowres, max(ratios))  # bad names stop here, before any training
    parse_methods(settings.lowres, max(ratios))
    budget = f"{FLAGS.steps} steps of {settings.batch_size} clips" if FLAGS.steps else f"{FLAGS.budget_minutes:g} min"
    names = [n.strip() for n in FLAGS.models if n.strip()]
    labels = {n: model_label(*parse_model_name(n)) for n in names}
    train_dirs = [os.path.abspath(d) for d in FLAGS.train_dir.split(",")]
    test_files = [f for d in FLAGS.test_dir.split(",") for f in corpora.audio_in_folder(d)[0]]
    if FLAGS.max_test_files:
        test_files = test_files[:FLAGS.max_test_files]

    data_dir = os.path.join(FLAGS.work_dir, "clips")
    manifest = prepare_training_clips(train_dirs, data_dir, ratios, FLAGS.num_clips, FLAGS.clip_seconds,
                                      settings.seed)
    clip_samples = manifest.clip_samples
    print(f"training clips: {manifest.splits['train'].clips} train, {manifest.splits['val'].clips} val "
          f"of {clip_samples} samples from {len(manifest.sources)} files; {len(test_files)} test files")

    runs_root = tempfile.mkdtemp(prefix="runs-", dir=FLAGS.work_dir)
    summaries, per_file, trained = {maker: {} for maker in makers}, {}, []
    try:
        for ratio in ratios:
            models = {}
            for name in names:
                print(f"\n== r={ratio} {labels[name]}: training for {budget}", flush=True)
                model, result = train_one(name, ratio, data_dir, os.path.join(runs_root, f"r{ratio}-{name}"),
                                          settings)
                models[labels[name]] = model
                trained.append((ratio, labels[name], result))
                print(f"   {result.steps} steps in {result.seconds:.0f} s; {result.summary()}", flush=True)
            rows = score_references(test_files, ratio, models, baselines=("spline",), lowres=makers)
            per_file[ratio] = rows
            for maker, maker_rows in by_lowres(rows).items():
                summaries[maker][ratio] = summarize(maker_rows)
    finally:
        shutil.rmtree(runs_root, ignore_errors=True)

    print("\nTraining:")
    for ratio, label, result in trained:
        print(f"  r={ratio} {label:7s} {result.steps:6d} steps  {result.seconds:6.0f} s  "
              f"{result.steps * settings.batch_size / result.seconds:.1f} clips/s")
    for maker in makers:
        title = (f"Whole-file SNR / LSD on {len(test_files)} files of {FLAGS.test_dir}, inputs made by {maker}; "
                 f"models trained {budget} each on {FLAGS.train_dir} (preset {settings.preset}, inputs by "
                 f"{settings.lowres})")
        print("\n" + figure3_markdown(summaries[maker], title=title))
        if FLAGS.out_dir:
            write_figure3(summaries[maker], FLAGS.out_dir, stem=lowres_stem("quality", maker), title=title)
    if FLAGS.out_dir:
        for ratio, rows in per_file.items():
            write_scores_csv(rows, os.path.join(FLAGS.out_dir, f"quality_per_file_r{ratio}.csv"))


if __name__ == "__main__":
    require_finite_floats()
    app.run(main)
