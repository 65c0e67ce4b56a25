"""The ``audiosr`` command: upsample recordings, evaluate models, describe a model file.

Only this entry point parses arguments; the work is done by
:mod:`audiosr.inference` and :mod:`audiosr.evaluation.scoring`. TensorFlow is
imported only by the commands that need it, so ``--help`` is instant.
"""

import argparse
import math
import os
import pathlib
import sys
import tempfile
import warnings

from audiosr import __version__

PROG = "audiosr"
FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3"}
LOSSY_SUBTYPES = {"ogg": "VORBIS", "mp3": "MPEG_LAYER_III"}
BIT_DEPTHS = {"16": "PCM_16", "24": "PCM_24", "32": "PCM_32", "float": "FLOAT"}
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
MAX_CHUNK_SECONDS = 3600.0


class UsageError(Exception):
    """A wrong option or model file: :func:`main` reports it in one line and exits with status 2."""

DESCRIPTION = """\
Audio super-resolution with deep networks: Kuleshov et al.'s AudioUNet and its
GAN and WGAN variants, trained with Keras.

A model file (.keras) carries its upsampling ratio and its sample rates, so
the commands need only the model and your recordings. Pretrained speech
models ship with the package ('audiosr models' lists them): without -m,
'upsample' picks the one that matches each recording's rate."""

EPILOG = """\
examples:
  audiosr upsample talk.wav -o out/
  audiosr upsample talk.wav -o out/ --model speech-r4
  audiosr models
  audiosr info model.keras
  audiosr upsample talk.mp3 recordings/ -o upsampled/ -m model.keras
  audiosr upsample song.flac -o out/ -m model.keras --format flac --bit-depth 24
  audiosr evaluate -m model.keras speech/ --csv scores.csv --plot figures/
  audiosr evaluate -m speech-r2 speech/ --lowres decimate,soxr,polyphase,telephone

Run 'audiosr COMMAND --help' for the options of a command."""

UPSAMPLE_DESCRIPTION = """\
Upsample recordings of any length by the model's ratio.

Each input is resampled to the model's input rate when its rate differs (a
note says so), interpolated to the output rate with a cubic spline and refined
by the network in overlapping, cross-faded chunks, so memory stays the same
however long the recording. Stereo and multichannel files keep their layout;
each channel is processed on its own.

Outputs go to DIR under the input's name (a folder's structure is kept) and
are written atomically. An existing output is replaced only with --overwrite;
an input is never replaced. A file that cannot be read is reported in one line
and skipped; the others are still processed.

Without --model, each file gets the shipped speech model whose input rate is
the lowest at or above the file's rate (8 kHz: speech-r2, 4 kHz: speech-r4,
6 kHz: speech-r2); files above every model's input rate get the one with the
highest (speech-r2). 'audiosr models' lists the shipped models."""

EVALUATE_DESCRIPTION = """\
Score models against interpolation on high-resolution reference recordings.

Each reference is read as mono at the model's output rate and its
low-resolution version is made by each input maker named with --lowres:
decimate (the default: the study's anti-aliased decimation, which its training
data was made with), or soxr, polyphase, fft, butter-causal, telephone and the
others real low-rate files come from (docs/input-makers.md lists them).
Baselines interpolate the low-rate samples, models refine their cubic spline,
and every method reconstructs the whole file. Prints SNR (dB, higher is
better) and log-spectral distance (LSD, lower is better) per file and on
average, one table per input maker."""

EXIT_STATUS = ("exit status: 0 when every file succeeded, 1 when any failed or an output could not be "
               "written, 2 for usage errors, 130 when interrupted (Ctrl-C).")


# ------------------------------------------------------------------ helpers


def _quiet_tensorflow():
    """Import TensorFlow with its start-up chatter (written to fd 2 by C++) hidden.

    The chatter is replayed if the import fails, so real errors stay visible.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _say(kind, message):
    from tqdm.auto import tqdm

    tqdm.write(f"{PROG}: {kind}: {' '.join(str(message).split())}", file=sys.stderr)


def _progress_disabled(args):
    return True if args.quiet else None  # None: tqdm shows a bar only on a terminal


def _input_files(inputs):
    """``(path, name)`` for each named file and each audio file under a named folder, and the number of
    inputs that failed.

    ``name`` is the path relative to its folder without extension (for a
    named file, its stem). Folders are searched by
    :func:`audiosr.audio_io.list_audio_files`; a folder without audio and a
    broken link in a folder are reported as errors.
    """
    from audiosr.audio_io import list_audio_files

    found, failed = [], 0
    for item in inputs:
        path = pathlib.Path(item)
        if not path.is_dir():
            found.append((path, pathlib.Path(path.stem)))
            continue
        files, _, broken = list_audio_files(path)
        for link, reason in broken:
            _say("error", f"{link}: {reason}")
        if not files:
            _say("error", f"{item}: folder holds no audio files")
        failed += len(broken) + (not files)
        found.extend((p, p.relative_to(path).parent / p.stem) for p in files)
    return found, failed


def _cannot_write(error):
    """One line for an OSError met while writing: the file the user asked for and why."""
    if error.filename is None or not error.strerror:
        return str(error)
    return f"cannot write {error.filename}: {error.strerror}"


def _load_model(name_or_path):
    """The shipped model of that name or the model file at that path, or UsageError saying why it cannot be used."""
    from audiosr.inference import load_model
    from audiosr.pretrained import model_path

    try:
        return load_model(model_path(name_or_path))
    except ValueError as error:
        raise UsageError(error) from error


def _file_rate(path):
    import soundfile

    try:
        return soundfile.info(os.fspath(path)).samplerate
    except Exception:  # unreadable here: upsample_file reports why
        return None


def _load_models(paths):
    """{display name: model} from .keras files; names are the file stems, made unique."""
    models = {}
    for path in paths:
        name = pathlib.Path(path).stem
        while name in models:
            name += "'"
        models[name] = _load_model(path)
    return models


def _output_subtype(args):
    """The soundfile subtype for --format / --bit-depth, or raise UsageError."""
    import soundfile

    if args.format in LOSSY_SUBTYPES:
        if args.bit_depth is not None:
            raise UsageError(f"--bit-depth applies to wav and flac, not to lossy {args.format}")
        return LOSSY_SUBTYPES[args.format]
    subtype = BIT_DEPTHS[args.bit_depth or "16"]
    if not soundfile.check_format(FORMATS[args.format], subtype):
        raise UsageError(f"{args.format} cannot store {args.bit_depth}-bit samples")
    return subtype


def _audio_seconds(path):
    import soundfile

    try:
        return soundfile.info(os.fspath(path)).duration
    except Exception:  # unreadable here: upsample_file reports why
        return 0.0


# ----------------------------------------------------------------- upsample


def run_upsample(args):
    subtype = _output_subtype(args)
    _quiet_tensorflow()
    from tqdm.auto import tqdm

    from audiosr.audio_io import AudioFileError
    from audiosr.inference import DEFAULT_OVERLAP_SAMPLES, upsample_file
    from audiosr.lowres import SAMPLE_RATE
    from audiosr.pretrained import default_model

    loaded = {}

    def model_for(path):
        """--model, or the shipped speech model for the file's rate (each loaded once)."""
        try:
            name = args.model or default_model(_file_rate(path) or 0)
        except ValueError as error:
            raise UsageError(error) from error
        if name not in loaded:
            loaded[name] = _load_model(name)
        return name, loaded[name]

    if args.model:  # a bad --model stops before any work
        model_for(None)
    output_rate = next(iter(loaded.values())).sample_rate if loaded else SAMPLE_RATE
    chunk = int(round(args.chunk_seconds * output_rate))
    if chunk <= 2 * DEFAULT_OVERLAP_SAMPLES:
        raise UsageError(f"--chunk-seconds must exceed {2 * DEFAULT_OVERLAP_SAMPLES / output_rate:g}, "
                         "twice the overlap of the chunks")
    jobs, failed = _input_files(args.inputs)
    claimed = {}
    written = 0
    total = sum(_audio_seconds(path) for path, _ in jobs)
    bar_format = "{l_bar}{bar}| {n:.1f}/{total:.1f} s of audio [{elapsed}<{remaining}{postfix}]"
    with tqdm(total=total, desc="upsampling", bar_format=bar_format, disable=_progress_disabled(args)) as bar:
        for path, name in jobs:
            output = pathlib.Path(args.output_dir) / name.parent / f"{name.name}.{args.format}"
            key = os.path.abspath(output)
            if key in claimed:
                _say("error", f"{path}: its output {output} is already the output of {claimed[key]}; rename one")
                failed += 1
                continue
            claimed[key] = path
            bar.set_postfix_str(path.name)
            model_name, model = model_for(path)
            try:
                info = upsample_file(
                    model, path, output, subtype=subtype, format=FORMATS[args.format], overwrite=args.overwrite,
                    chunk_samples=chunk, batch_size=args.batch_size, precision=args.precision,
                    on_progress=bar.update,
                )
            except (AudioFileError, FileExistsError, ValueError) as error:
                _say("error", error)
                failed += 1
                continue
            except OSError as error:  # the output cannot be written: name it, not its temporary file
                _say("error", f"{path}: {_cannot_write(error)}")
                failed += 1
                continue
            written += 1
            if not args.model:
                _say("note", f"{path}: upsampled with the shipped model {model_name} "
                             f"(x{model.ratio}, {info['input_rate']} Hz input)")
            if info["resampled"]:
                _say("note", f"{path}: resampled from {info['input_rate']} Hz to the model's input rate "
                             f"{info['model_input_rate']:g} Hz")
            if info["clipped"]:
                _say("note", f"{output}: {info['clipped']} samples clipped to [-1, 1]; --bit-depth float keeps them")
    _say("done", f"wrote {written} file(s) at {output_rate} Hz to {args.output_dir}"
                 + (f"; {failed} failed" if failed else ""))
    return EXIT_FAILED if failed else EXIT_OK


# ----------------------------------------------------------------- evaluate


def _score_table(rows, methods):
    """Plain-text table: one line per file, then the mean; two columns per method."""
    from audiosr.evaluation.scoring import summarize

    files = list(dict.fromkeys(row["file"] for row in rows))
    by_key = {(row["file"], row["method"]): row for row in rows}
    names = [pathlib.Path(f).name for f in files]
    summary = summarize(rows)
    mean_label = f"mean of {len(files)} file(s)"
    width = max([len(n) for n in names] + [len(mean_label), 4])
    head1 = " " * width + "".join(f"  {m[:16]:>16}" for m in methods)
    head2 = f"{'file':<{width}}" + "".join(f"  {'SNR dB':>7} {'LSD':>8}" for _ in methods)
    lines = [head1, head2]
    for file, name in zip(files, names):
        cells = [by_key[(file, m)] for m in methods]
        lines.append(f"{name:<{width}}" + "".join(f"  {c['snr']:7.2f} {c['lsd']:8.3f}" for c in cells))
    lines.append(f"{mean_label:<{width}}" + "".join(
        f"  {summary[m]['snr']:7.2f} {summary[m]['lsd']:8.3f}" for m in methods))
    return "\n".join(lines)


def _plot_file(path, name, plot_dir, reference, estimates, ratio, sample_rate):
    """One spectrogram figure per input maker: ``DIR/<name>.png``, or ``DIR/<maker>/<name>.png`` for several."""
    from audiosr.evaluation.scoring import plot_comparison

    for maker, by_method in estimates.items():
        folder = pathlib.Path(plot_dir) / (maker if len(estimates) > 1 else "") / name.parent
        title = f"{path.name}: x{ratio} super-resolution" + (f", input by {maker}" if len(estimates) > 1 else "")
        plot_comparison(reference, by_method, sample_rate, folder / f"{name.name}.png", title=title)


def run_evaluate(args):
    _quiet_tensorflow()
    from tqdm.auto import tqdm

    from audiosr.audio_io import AudioFileError
    from audiosr.evaluation.scoring import by_lowres, check_models, input_makers, score_file, write_scores_csv
    from audiosr.lowres import METHODS

    models = _load_models(args.model)
    first = next(iter(models.values()))
    ratio, sample_rate = first.ratio, first.sample_rate
    try:
        check_models(models, ratio, sample_rate)
        makers = input_makers(args.lowres, ratio)
    except ValueError as error:
        raise UsageError(error) from error
    baselines = tuple(dict.fromkeys(args.baseline or ["spline"]))
    jobs, failed = _input_files(args.references)
    rows, unwritten = [], []
    plot = bool(args.plot)
    for path, name in tqdm(jobs, desc="evaluating", unit="file", disable=_progress_disabled(args)):
        try:
            file_rows, reference, estimates = score_file(path, ratio, models, baselines, sample_rate, makers)
        except AudioFileError as error:
            _say("error", error)
            failed += 1
            continue
        rows.extend(file_rows)
        if plot:
            try:
                _plot_file(path, name, args.plot, reference, estimates, ratio, sample_rate)
            except OSError as error:  # the same folder would refuse every figure: say it once, keep scoring
                _say("error", f"{_cannot_write(error)}; no more spectrograms are written")
                unwritten.append(args.plot)
                plot = False
    for index, (maker, maker_rows) in enumerate(by_lowres(rows).items()):
        if index:
            print()
        print(f"x{ratio} super-resolution to {sample_rate} Hz; input made by {maker}: {METHODS[maker].description}")
        print(_score_table(maker_rows, list(baselines) + list(models)))
    if args.csv and rows:
        try:
            write_scores_csv(rows, args.csv)
        except OSError as error:
            _say("error", _cannot_write(error))
            unwritten.append(args.csv)
        else:
            _say("done", f"wrote {len(rows)} rows to {args.csv}")
    if plot and rows:
        _say("done", f"wrote spectrograms to {args.plot}")
    if failed:
        _say("error", f"{failed} reference(s) failed")
    return EXIT_FAILED if failed or unwritten or not rows else EXIT_OK


# --------------------------------------------------------------------- info


def run_info(args):
    _quiet_tensorflow()
    from audiosr.inference import model_input_rate

    model = _load_model(args.model)
    network = getattr(model, "generator", model)
    print(f"model            {args.model}")
    print(f"kind             {type(model).__name__}")
    print(f"ratio            x{model.ratio}: {model_input_rate(model):g} Hz in, {model.sample_rate} Hz out")
    print(f"parameters       {network.count_params():,} (generator)")
    print(f"length multiple  {model.length_multiple} samples")
    return EXIT_OK


# ------------------------------------------------------------------- models


def run_models(args):
    del args
    from audiosr.pretrained import catalog

    for name, meta in catalog().items():
        print(f"{name}: x{meta['ratio']}, {meta['input_rate']:g} Hz -> {meta['output_rate']} Hz, "
              f"{meta['domain']}, {meta['parameters']:,} parameters ({meta['preset']} preset)")
        print(f"  trained on {meta['training_data']}")
        print(f"  held out   {', '.join(meta['held_out'])}")
        scores = meta.get("scores")
        if scores:
            print(f"  held-out whole files ({scores['model']['files']}): "
                  f"SNR {scores['model']['snr']:.2f} dB (spline {scores['spline']['snr']:.2f}), "
                  f"LSD {scores['model']['lsd']:.3f} (spline {scores['spline']['lsd']:.3f})")
    return EXIT_OK


# ------------------------------------------------------------------- parser


def _chunk_seconds(text):
    value = float(text)
    if not (math.isfinite(value) and 0 < value <= MAX_CHUNK_SECONDS):
        raise argparse.ArgumentTypeError(f"must be a number of seconds in (0, {MAX_CHUNK_SECONDS:g}], got {text}")
    return value


def _positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def build_parser():
    from audiosr.inference import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SAMPLES, PRECISIONS
    from audiosr.lowres import SAMPLE_RATE

    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    up = commands.add_parser(
        "upsample", help="upsample audio files or folders with a trained model",
        description=UPSAMPLE_DESCRIPTION, epilog=EXIT_STATUS, formatter_class=formatter,
    )
    up.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="audio files (wav, flac, ogg, mp3, ...) or folders, searched recursively")
    up.add_argument("-o", "--output-dir", required=True, metavar="DIR", help="folder for the upsampled files")
    up.add_argument("-m", "--model", metavar="MODEL",
                    help="a shipped model's name (see 'audiosr models') or a model file (.keras); default: the "
                         "shipped speech model for each file's rate")
    up.add_argument("--format", choices=sorted(FORMATS), default="wav", help="output format (default: %(default)s)")
    up.add_argument("--bit-depth", choices=list(BIT_DEPTHS), default=None,
                    help="sample format for wav and flac (default: 16; flac takes 16 or 24)")
    up.add_argument("--overwrite", action="store_true", help="replace existing output files")
    up.add_argument("--precision", choices=PRECISIONS, default="float32",
                    help="arithmetic of the network: bfloat16 is ~2-3x faster on CPUs with native "
                         "bfloat16 (AVX512-BF16, AMX) at ~50 dB SNR to float32 (default: %(default)s)")
    up.add_argument("--chunk-seconds", type=_chunk_seconds, default=DEFAULT_CHUNK_SAMPLES / SAMPLE_RATE,
                    metavar="S", help="length of the chunks the network sees; memory grows with it "
                                      "(default: %(default)s)")
    up.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE, metavar="N",
                    help="chunks per network call (default: %(default)s)")
    up.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    up.set_defaults(run=run_upsample)

    ev = commands.add_parser(
        "evaluate", help="score models against spline interpolation on reference recordings",
        description=EVALUATE_DESCRIPTION, epilog=EXIT_STATUS, formatter_class=formatter,
    )
    ev.add_argument("references", nargs="+", metavar="REFERENCE",
                    help="high-resolution audio files or folders, searched recursively")
    ev.add_argument("-m", "--model", required=True, action="append", metavar="MODEL",
                    help="a shipped model's name or a model file (.keras); repeat to compare models of the "
                         "same ratio")
    ev.add_argument("--baseline", action="append", choices=["spline", "sinc"],
                    help="interpolation to compare with; repeatable (default: spline)")
    ev.add_argument("--lowres", default="decimate", metavar="NAME[,NAME...]",
                    help="input makers: how the low-resolution version of each reference is made, one table each "
                         "(default: %(default)s, the study's; e.g. decimate,soxr,polyphase,fft,butter-causal,"
                         "telephone; see docs/input-makers.md)")
    ev.add_argument("--csv", metavar="FILE",
                    help="also write per-file scores (file, lowres, method, snr, lsd) as CSV")
    ev.add_argument("--plot", metavar="DIR",
                    help="write a spectrogram PNG per file: reference, baselines, models (one folder per input "
                         "maker when there are several)")
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(run=run_evaluate)

    info = commands.add_parser(
        "info", help="show a model file's ratio, rates and size",
        description="Show what a model file carries: its kind, ratio, sample rates and size.",
        formatter_class=formatter,
    )
    info.add_argument("model", metavar="MODEL", help="a shipped model's name or a model file (.keras)")
    info.set_defaults(run=run_info)

    listing = commands.add_parser(
        "models", help="list the pretrained models shipped with the package",
        description="List the shipped models: ratio, rates, training data and held-out scores against spline.",
        formatter_class=formatter,
    )
    listing.set_defaults(run=run_models)
    return parser


def main(argv=None):
    """Entry point of the ``audiosr`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    # librosa's audioread fallback warns about every file that is not audio; the error line says it.
    warnings.filterwarnings("ignore", message="PySoundFile failed")
    warnings.filterwarnings("ignore", category=FutureWarning, module="librosa")
    try:
        return args.run(args)
    except UsageError as error:
        _say("error", error)
        return EXIT_USAGE
    except KeyboardInterrupt:  # outputs are written atomically: the finished ones stay, the current one is gone
        _say("interrupted", "stopped; finished outputs are kept, the one being written was removed")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
