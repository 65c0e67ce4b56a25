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

import argparse
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train_dir", required=True, help="folder(s) of training recordings, comma separated")
    parser.add_argument("--test_dir", required=True, help="folder(s) of test recordings, comma separated")
    parser.add_argument("--scales", default="2,4", help="upsampling ratios, comma separated")
    parser.add_argument("--models", default="unet,gan,wgan", help="models: unet, gan, wgan (+ -c), comma separated")
    parser.add_argument("--steps", type=int, default=0,
                        help="training steps per model and ratio (0: use --budget_minutes instead)")
    parser.add_argument("--budget_minutes", type=float, default=10.0,
                        help="training time per model and ratio, when --steps is not given")
    parser.add_argument("--preset", default="cpu", help="AudioUNet preset")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--learning_rate", type=float, default=3e-4)
    parser.add_argument("--steps_per_epoch", type=int, default=100, help="batches between validations")
    parser.add_argument("--validation_steps", type=int, default=10, help="validation batches per validation")
    parser.add_argument("--num_clips", type=int, default=4000, help="training clips to cut")
    parser.add_argument("--clip_seconds", type=float, default=0.512, help="clip length (a multiple of the "
                        "preset's stride at 16 kHz: 0.512 s = 8192 samples)")
    parser.add_argument("--lambda_adv", type=float, default=0.01, help="GAN/WGAN adversarial weight (study: 0.01)")
    parser.add_argument("--n_critic", type=int, default=5, help="WGAN critic steps per generator step")
    parser.add_argument("--content_network", default="vggish", help="feature network of the -c models")
    parser.add_argument("--content_weight", type=float, default=1.0)
    parser.add_argument("--max_test_files", type=int, default=0, help="score only the first N test files (0: all)")
    parser.add_argument("--lowres", default="decimate",
                        help="input makers of the test files' low-rate versions, comma separated; one table each")
    parser.add_argument("--train_lowres", default="decimate",
                        help="how training inputs are made: decimate (the study's), a mix (real) or a comma list")
    parser.add_argument("--work_dir", default=os.path.join(tempfile.gettempdir(), "audiosr-bench-quality"),
                        help="cache of prepared clips and scratch space for runs")
    parser.add_argument("--out_dir", default=None, help="also write the table (markdown, CSV) and per-file scores")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=2, help="Keras verbosity while training")
    return parser.parse_args(argv)


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


def train_one(name, ratio, data_dir, run_dir, args):
    """Train model ``name`` for the step or time budget; returns (best model, :class:`RunResult`)."""
    import keras

    from audiosr.models.naming import parse_model_name
    from audiosr.train.callbacks import StepBudget, TimeBudget
    from audiosr.train.experiment import RunSettings, run_experiment

    kind, content = parse_model_name(name)
    if args.steps:
        budget, epochs = StepBudget(args.steps), -(-args.steps // args.steps_per_epoch)
    else:
        budget, epochs = TimeBudget(args.budget_minutes * 60), 100000
    settings = RunSettings(model=kind, ratio=ratio, dataset="bench", data_dir=data_dir, preset=args.preset,
                           content=content, content_network=args.content_network,
                           content_weight=args.content_weight, epochs=epochs, learning_rate=args.learning_rate,
                           batch_size=args.batch_size, seed=args.seed, lambda_adv=args.lambda_adv,
                           n_critic=args.n_critic, steps_per_epoch=args.steps_per_epoch,
                           validation_steps=args.validation_steps, verbose=args.verbose, lowres=args.train_lowres)
    result = run_experiment(settings, run_dir, callbacks=[budget])
    return keras.saving.load_model(result.best_model_path), result


def main(argv=None):
    args = parse_args(argv)
    from audiosr.data import corpora
    from audiosr.evaluation.reporting import figure3_markdown, lowres_stem, write_figure3
    from audiosr.evaluation.scoring import by_lowres, input_makers, score_references, summarize, write_scores_csv
    from audiosr.lowres import parse_methods
    from audiosr.models.naming import model_label, parse_model_name

    ratios = sorted({int(r) for r in args.scales.split(",")})
    makers = input_makers(args.lowres, max(ratios))  # bad names stop here, before any training
    parse_methods(args.train_lowres, max(ratios))
    budget = f"{args.steps} steps of {args.batch_size} clips" if args.steps else f"{args.budget_minutes:g} min"
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    labels = {n: model_label(*parse_model_name(n)) for n in names}
    train_dirs = [os.path.abspath(d) for d in args.train_dir.split(",")]
    test_files = [f for d in args.test_dir.split(",") for f in corpora.audio_in_folder(d)[0]]
    if args.max_test_files:
        test_files = test_files[:args.max_test_files]

    data_dir = os.path.join(args.work_dir, "clips")
    manifest = prepare_training_clips(train_dirs, data_dir, ratios, args.num_clips, args.clip_seconds, args.seed)
    clip_samples = manifest.clip_samples
    print(f"training clips: {manifest.splits['train'].clips} train, {manifest.splits['val'].clips} val "
          f"of {clip_samples} samples from {len(manifest.sources)} files; {len(test_files)} test files")

    runs_root = tempfile.mkdtemp(prefix="runs-", dir=args.work_dir)
    summaries, per_file, trained = {maker: {} for maker in makers}, {}, []
    try:
        for ratio in ratios:
            models = {}
            for name in names:
                print(f"\n== r={ratio} {labels[name]}: training for {budget}", flush=True)
                model, result = train_one(name, ratio, data_dir, os.path.join(runs_root, f"r{ratio}-{name}"), args)
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
              f"{result.steps * args.batch_size / result.seconds:.1f} clips/s")
    for maker in makers:
        title = (f"Whole-file SNR / LSD on {len(test_files)} files of {args.test_dir}, inputs made by {maker}; "
                 f"models trained {budget} each on {args.train_dir} (preset {args.preset}, inputs by "
                 f"{args.train_lowres})")
        print("\n" + figure3_markdown(summaries[maker], title=title))
        if args.out_dir:
            write_figure3(summaries[maker], args.out_dir, stem=lowres_stem("quality", maker), title=title)
    if args.out_dir:
        for ratio, rows in per_file.items():
            write_scores_csv(rows, os.path.join(args.out_dir, f"quality_per_file_r{ratio}.csv"))


if __name__ == "__main__":
    main()
