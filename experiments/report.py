"""The study's report: score its trained models and the spline baseline, write Figures 3 to 8.

Run from the repository root after training (experiments/train.py):

    python experiments/report.py --dataset=vctk
    python experiments/report.py --dataset=synthetic --preset=cpu --models=unet --ratios=2
    python experiments/report.py --dataset=vctk --lowres=decimate,soxr,polyphase,fft,butter-causal,telephone

For each ratio it loads ``<logdir>/<dataset>-r<ratio>-<model>-<preset>-s<seed>/best.keras``
of every model in ``--models`` (a missing run is reported and left out),
upsamples every recording of the test split whole from the low-rate version
each input maker in ``--lowres`` makes of it (default: the study's
``decimate``), and writes to ``--out_dir``:

    figure3.md / figure3.csv     SNR and LSD per ratio (rows) and method (columns), inputs by decimate
    figure3-<maker>.md / .csv    the same table for every other input maker
    per_file_r<r>.csv            the score of every file, input maker and method
    figure4_r<r>.png             validation loss per epoch of each run
    spectrograms_r<r>.png        one test clip: target, spline and every model (Figures 5-8);
                                 spectrograms_r<r>-<maker>.png for the other input makers
    listening_r<r>/index.html    the listening page of the first --listening_files recordings: players
                                 and spectrograms of input, spline, every model and target, scores;
                                 listening_r<r>-<maker>/ for the other input makers
"""

import os

from audiosr.startup import import_tensorflow

import_tensorflow()

from absl import app, flags, logging  # noqa: E402

from audiosr.flag_checks import define_settings_flags, require_finite_floats, settings_from_flags  # noqa: E402

STUDY_MODELS = "unet,unet-c,gan,gan-c,wgan,wgan-c"
# The run settings that name the runs scored (and the set they are scored on): RunSettings' flags and defaults.
RUN_FLAGS = ("dataset", "data_dir", "preset", "seed")


def define_flags(fv=flags.FLAGS):
    from audiosr.lowres import STUDY_METHOD
    from audiosr.train.experiment import RunSettings

    define_settings_flags(RunSettings(), RUN_FLAGS, flag_values=fv)
    flags.DEFINE_string("split", "test", "Split whose recordings are scored whole.", flag_values=fv)
    flags.DEFINE_string("logdir", "runs", "Folder of the training runs.", flag_values=fv)
    flags.DEFINE_list("ratios", ["2", "4"], "Upsampling ratios.", flag_values=fv)
    flags.DEFINE_list("models", STUDY_MODELS.split(","), "Models: unet, gan, wgan, each optionally -c.",
                      flag_values=fv)
    flags.DEFINE_string("out_dir", None, "Where figures and tables go (default: results/<dataset>).",
                        flag_values=fv)
    flags.DEFINE_integer("max_files", 0, "Score only the first N recordings (0: all).", flag_values=fv)
    flags.DEFINE_string("lowres", STUDY_METHOD, "Input makers, comma separated: how each recording's low-rate "
                        "version is made (decimate: the study's; see docs/input-makers.md); one table each.",
                        flag_values=fv)
    flags.DEFINE_string("spectrogram_file", None, "Recording shown in the spectrogram figures "
                        "(default: the first scored one).", flag_values=fv)
    flags.DEFINE_float("spectrogram_seconds", 3.0, "Seconds of it to show.", flag_values=fv)
    flags.DEFINE_integer("listening_files", 5, "Recordings on the listening page of each ratio (0: no page).",
                         lower_bound=0, flag_values=fv)


def find_models(logdir, dataset, ratio, names, preset, seed):
    """{display label: (kind, content, run folder)} of the runs that have a best.keras."""
    from audiosr.models.naming import model_label, parse_model_name
    from audiosr.train.experiment import run_name
    from audiosr.train.fit import BEST_MODEL_NAME

    found = {}
    for name in names:
        kind, content = parse_model_name(name)
        run_dir = os.path.join(logdir, run_name(dataset, ratio, kind, content, preset, seed))
        if os.path.isfile(os.path.join(run_dir, BEST_MODEL_NAME)):
            found[model_label(kind, content)] = run_dir
        else:
            logging.warning("no trained %s for r=%d: %s not found", model_label(kind, content), ratio,
                            os.path.join(run_dir, BEST_MODEL_NAME))
    return found


def run(fv):
    """Write the report the flags in ``fv`` describe; returns the Figure 3 summaries
    {input maker: {ratio: {method: ...}}}."""
    from audiosr.data.pipeline import split_sources
    from audiosr.evaluation.page import ListeningPage
    from audiosr.evaluation.reporting import lowres_stem, plot_validation_curves, write_figure3
    from audiosr.evaluation.scoring import (
        by_lowres,
        input_makers,
        plot_spectrogram_comparison,
        score_references,
        summarize,
        write_scores_csv,
    )
    from audiosr.inference import load_model
    from audiosr.lowres import SAMPLE_RATE
    from audiosr.train.experiment import RunSettings
    from audiosr.train.fit import BEST_MODEL_NAME, HISTORY_NAME

    data_dir = settings_from_flags(RunSettings(), RUN_FLAGS, flag_values=fv).prepared_dir
    out_dir = fv.out_dir or os.path.join("results", fv.dataset)
    ratios = sorted({int(r) for r in fv.ratios})
    makers = input_makers(fv.lowres, max(ratios))  # an unknown one stops here, before any scoring
    files = split_sources(data_dir, fv.split)
    if fv.max_files:
        files = files[:fv.max_files]
    if not files:
        raise ValueError(f"{data_dir}: split {fv.split!r} lists no recordings")
    summaries = {maker: {} for maker in makers}
    for ratio in ratios:
        runs = find_models(fv.logdir, fv.dataset, ratio, fv.models, fv.preset, fv.seed)
        models = {label: load_model(os.path.join(run_dir, BEST_MODEL_NAME)) for label, run_dir in runs.items()}
        pages = {maker: ListeningPage(os.path.join(out_dir, lowres_stem(f"listening_r{ratio}", maker)), ratio,
                                      SAMPLE_RATE, f"{fv.dataset} ({fv.split} split), r = {ratio}, preset "
                                      f"{fv.preset}, inputs made by {maker}") for maker in makers}

        def listen(path, file_rows, reference, estimates, pages=pages):
            for maker, page in pages.items():
                if len(page.files) < fv.listening_files:
                    page.add(os.path.basename(path), reference, estimates[maker], by_lowres(file_rows)[maker], maker)

        rows = score_references(files, ratio, models, baselines=("spline",), on_file=listen, lowres=makers)
        for page in pages.values():
            if page.files:
                page.write()
        if not rows:
            raise RuntimeError(f"none of the {len(files)} recordings of {data_dir} ({fv.split}) could be scored")
        for maker, maker_rows in by_lowres(rows).items():
            summaries[maker][ratio] = summarize(maker_rows)
        write_scores_csv(rows, os.path.join(out_dir, f"per_file_r{ratio}.csv"))
        if runs:
            plot_validation_curves({label: os.path.join(run_dir, HISTORY_NAME) for label, run_dir in runs.items()},
                                   os.path.join(out_dir, f"figure4_r{ratio}.png"),
                                   title=f"{fv.dataset}, r = {ratio}: validation loss")
        for maker in makers:
            plot_spectrogram_comparison(fv.spectrogram_file or rows[0]["file"], ratio, models,
                                        os.path.join(out_dir, lowres_stem(f"spectrograms_r{ratio}", maker) + ".png"),
                                        fv.spectrogram_seconds, lowres=maker)
    written = []
    for maker in makers:
        title = f"{fv.dataset} ({fv.split} split, whole recordings), preset {fv.preset}, inputs made by {maker}"
        markdown, paths = write_figure3(summaries[maker], out_dir, stem=lowres_stem("figure3", maker), title=title)
        print(markdown)
        written += paths
    print("wrote " + ", ".join(written) + f" and figures in {out_dir}")
    return summaries


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    run(flags.FLAGS)


if __name__ == "__main__":
    define_flags()
    require_finite_floats()
    app.run(main)
