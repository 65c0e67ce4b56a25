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
import textwrap
import warnings

from audiosr import __version__
from audiosr.startup import import_tensorflow

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
  audiosr evaluate -m model.keras speech/ --csv scores.csv --plot figures/ --html listen/
  audiosr evaluate -m speech-r2 speech/ --lowres decimate,soxr,polyphase,telephone
  audiosr export speech-r2 speech-r2.tflite
  arecord -f S16_LE -r 8000 -c 1 | audiosr stream --rate 8000 | aplay -f S16_LE -r 16000 -c 1

Run 'audiosr COMMAND --help' for the options of a command."""

UPSAMPLE_DESCRIPTION = """\
Upsample recordings of any length, deciding per file from where its content
stops (its effective band, estimated from its spectrum), not from its rate.

A file whose content already reaches the band the model outputs (8 kHz for
16 kHz output) is copied unchanged, at its own rate. Otherwise the file is
treated as audio of the rate its band implies (a 16 or 44.1 kHz file that
stops near 4 kHz is 8 kHz audio, one that stops near 2 kHz 4 kHz audio),
resampled to it, interpolated with a cubic spline and refined by the network
in overlapping, cross-faded chunks, so memory stays the same however long the
recording. A note line per file says what was estimated and decided;
--input-band gives the band instead. Stereo and multichannel files keep their
layout; each channel is processed on its own.

A safety net compares each output with the input's own spectrum; where the
model's output does not fit it (it changes the band the input carries, or
adds implausibly much above it, in most frames) the file gets the spline
interpolation instead, with a note.

Outputs go to DIR under the input's name (a folder's structure is kept) and
are written atomically. An existing output is replaced only with --overwrite;
an input is never replaced. A file that cannot be read is reported in one line
and skipped; the others are still processed.

Without --model, each file gets the shipped speech model that fits its band
(8 kHz audio: speech-r2, 4 kHz audio: speech-r4). With --model, that model
is used unless the file's content already reaches its output band.
'audiosr models' lists the shipped models."""

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
    copy_subtype = subtype if args.bit_depth or args.format in LOSSY_SUBTYPES else None
    import_tensorflow()
    from tqdm.auto import tqdm

    from audiosr.audio_io import AudioFileError
    from audiosr.inference import DEFAULT_OVERLAP_SAMPLES
    from audiosr.limiter import LOOKAHEAD_SECONDS
    from audiosr.upsampling import Models, upsample_path

    try:  # a bad --model stops before any work
        models = Models(args.model)
    except ValueError as error:
        raise UsageError(error) from error
    chunk = int(round(args.chunk_seconds * models.output_rate))
    if chunk <= 2 * DEFAULT_OVERLAP_SAMPLES:
        raise UsageError(f"--chunk-seconds must exceed {2 * DEFAULT_OVERLAP_SAMPLES / models.output_rate:g}, "
                         "twice the overlap of the chunks")
    jobs, failed = _input_files(args.inputs)
    claimed = {}
    written = passed = 0
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
            try:
                plan, info = upsample_path(
                    models, path, output, input_band=args.input_band, fallback=not args.keep_implausible,
                    subtype=subtype, copy_subtype=copy_subtype, format=FORMATS[args.format],
                    overwrite=args.overwrite, on_progress=bar.update, chunk_samples=chunk,
                    batch_size=args.batch_size, precision=args.precision,
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
            passed += plan.passes_through
            _say("note", f"{path}: {plan.note}")
            if plan.warning:
                _say("note", f"{path}: {plan.warning}")
            net = info.get("safety")
            if net is not None and net.implausible:
                _say("note", f"{path}: {plan.model.name}'s output does not fit the input's spectrum in "
                             f"{100 * net.flagged_share:.0f} % of its frames (the band the input carries, "
                             f"{net.band_hz / 2:.0f}-{net.band_hz:.0f} Hz, changed by {net.median_in_band_db:+.0f} dB "
                             "in the median frame): "
                             + ("wrote the spline interpolation instead (--keep-implausible keeps the model's)"
                                if info["fell_back"] else "kept as asked by --keep-implausible"))
            if info["limited"]:
                _say("note", f"{output}: {info['limited']} samples past full scale (peak {info['peak']:.3f}) were "
                             f"lowered by a {1000 * LOOKAHEAD_SECONDS:g} ms look-ahead limiter, not clipped; "
                             "--bit-depth float keeps them")
    _say("done", f"wrote {written} file(s) to {args.output_dir}"
                 + (f" ({passed} passed through unchanged)" if passed else "")
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
    import_tensorflow()
    from tqdm.auto import tqdm

    from audiosr.audio_io import AudioFileError
    from audiosr.evaluation.page import ListeningPage
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
    page = ListeningPage(args.html, ratio, sample_rate, "audiosr evaluate") if args.html else None
    for path, name in tqdm(jobs, desc="evaluating", unit="file", disable=_progress_disabled(args)):
        try:
            file_rows, reference, estimates = score_file(path, ratio, models, baselines, sample_rate, makers)
        except AudioFileError as error:
            _say("error", error)
            failed += 1
            continue
        rows.extend(file_rows)
        if page:
            try:
                page.add(str(name), reference, estimates[makers[0]], by_lowres(file_rows)[makers[0]], makers[0])
            except OSError as error:
                _say("error", f"{_cannot_write(error)}; no listening page is written")
                unwritten.append(args.html)
                page = None
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
    if page and rows:
        try:
            _say("done", f"wrote the listening page {page.write()}")
        except OSError as error:
            _say("error", _cannot_write(error))
            unwritten.append(args.html)
    if failed:
        _say("error", f"{failed} reference(s) failed")
    return EXIT_FAILED if failed or unwritten or not rows else EXIT_OK


# --------------------------------------------------------------------- info


def run_info(args):
    import_tensorflow()
    from audiosr.pretrained import model_card

    model = _load_model(args.model)
    network = getattr(model, "generator", model)
    print(f"model            {args.model}")
    print(f"kind             {type(model).__name__}")
    print(f"ratio            x{model.ratio}: {model.input_rate:g} Hz in, {model.sample_rate} Hz out")
    print(f"parameters       {network.count_params():,} (generator)")
    print(f"length multiple  {model.length_multiple} samples")
    card = model_card(args.model)
    if card:
        print("\n" + card.rstrip())
    return EXIT_OK


# ------------------------------------------------------------------- models


def run_models(args):
    del args
    from audiosr.pretrained import catalog

    for name, meta in catalog().items():
        print(f"{name}: x{meta['ratio']}, {meta['input_rate']:g} Hz -> {meta['output_rate']} Hz, "
              f"{meta['domain']}, {meta['parameters']:,} parameters ({meta['preset']} preset)")
        print(f"  trained on {', '.join(item['corpus'] for item in meta['data'])}")
        held = meta["held_out"]
        print(f"  held out   {len(held['groups'])} {held['unit']} ({held['files']} files, "
              f"{held['seconds'] / 60:.1f} min), scored whole per input maker:")
        for maker, score in meta["scores"].items():
            print(f"    {maker:14} SNR {score['model']['snr']:6.2f} dB (spline {score['spline']['snr']:6.2f}), "
                  f"LSD {score['model']['lsd']:.3f} (spline {score['spline']['lsd']:.3f})")
    print("'audiosr info NAME' shows a model's card.")
    return EXIT_OK


# ------------------------------------------------------------- export, stream


def run_export(args):
    import_tensorflow()
    from audiosr.deploy.export import export_saved_model, export_tflite

    fmt = args.format or ("tflite" if args.output.endswith(".tflite") else "saved_model")
    if fmt == "saved_model" and args.quantize != "none":
        raise UsageError("--quantize applies to --format tflite")
    if os.path.lexists(args.output) and not args.overwrite:
        raise UsageError(f"{args.output}: exists (pass --overwrite to replace it)")
    model = _load_model(args.model)
    try:
        if fmt == "tflite":
            export_tflite(model, args.output, args.quantize)
        else:
            export_saved_model(model, args.output)
    except OSError as error:
        _say("error", _cannot_write(error))
        return EXIT_FAILED
    _say("done", f"wrote {fmt} {args.output}: float32 (batch, T, 1) spline input at {model.sample_rate} Hz -> "
                 f"(batch, T, 1) at {model.sample_rate} Hz (x{model.ratio}; see docs/deployment.md)")
    return EXIT_OK


def run_stream(args):
    import_tensorflow()
    from audiosr.deploy.streaming import StreamUpsampler, stream_pcm
    from audiosr.planning import plan
    from audiosr.pretrained import candidates

    name = args.model
    if not name:  # the shipped model the planner gives audio whose content fills the stream's rate
        chosen = plan(args.rate, args.rate / 2, candidates()).model
        if chosen is None:
            raise UsageError(f"--rate {args.rate:g}: audio at this rate already reaches the shipped models' "
                             "output band; name a model with -m to stream it anyway")
        name = chosen.name
    model = _load_model(name)
    upsampler = StreamUpsampler(model, args.rate, args.block_ms / 1000.0, args.precision)
    latency = upsampler.latency
    _say("streaming", f"{name}: 16-bit mono PCM at {args.rate:g} Hz in, {model.sample_rate} Hz out; latency "
                      f"{1000 * latency.total:.1f} ms (block {1000 * latency.block:.1f} ms + look-ahead "
                      f"{1000 * latency.lookahead:.1f} ms) plus compute")
    try:
        stats = stream_pcm(upsampler, sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:  # the reader went away (aplay stopped): nothing left to do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        _say("stopped", "the output was closed")
        return EXIT_FAILED
    except ValueError as error:  # input too short to interpolate
        raise UsageError(f"stdin: {error}") from error
    notes = [f"{stats['clipped']} samples clipped"] if stats["clipped"] else []
    if stats["dropped_bytes"]:
        notes.append("a trailing odd byte dropped")
    _say("done", f"{stats['samples_in'] / args.rate:.2f} s in, {stats['samples_out'] / model.sample_rate:.2f} s "
                 "out" + (f" ({', '.join(notes)})" if notes else ""))
    return EXIT_OK


# ------------------------------------------------------------------- parser


def _chunk_seconds(text):
    value = float(text)
    if not (math.isfinite(value) and 0 < value <= MAX_CHUNK_SECONDS):
        raise argparse.ArgumentTypeError(f"must be a number of seconds in (0, {MAX_CHUNK_SECONDS:g}], got {text}")
    return value


def _band_hz(text):
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of Hz, got {text}")
    return value


def _positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_parser():
    from audiosr.deploy.export import FORMATS as EXPORT_FORMATS
    from audiosr.deploy.export import QUANTIZATIONS
    from audiosr.deploy.streaming import DEFAULT_BLOCK_SECONDS
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
                         "shipped speech model that fits each file's band")
    up.add_argument("--input-band", type=_band_hz, metavar="HZ",
                    help="where the inputs' content stops, instead of estimating it from each file's spectrum "
                         "(e.g. 4000 for audio that was 8 kHz once)")
    up.add_argument("--keep-implausible", action="store_true",
                    help="keep a model's output even where the safety net finds it does not fit the input's "
                         "spectrum (default: write the spline interpolation instead)")
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
    ev.add_argument("--html", metavar="DIR",
                    help="write a listening page DIR/index.html: players and spectrograms of the low-res input, "
                         "baselines, models and reference, and the scores (inputs by the first input maker)")
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(run=run_evaluate)

    ex = commands.add_parser(
        "export", help="write a model as a TensorFlow SavedModel or a TFLite file",
        description=textwrap.fill(
            "Write MODEL's network as a SavedModel folder or a .tflite file that plain TensorFlow or "
            "the LiteRT interpreter runs without audiosr. Input: the low-rate signal interpolated to "
            "the output rate with a cubic spline, float32 (batch, T, 1); output: (batch, T, 1) at the "
            "output rate. docs/deployment.md shows how to call them.", 79),
        formatter_class=formatter,
    )
    ex.add_argument("model", metavar="MODEL", help="a shipped model's name or a model file (.keras)")
    ex.add_argument("output", metavar="OUT", help="the SavedModel folder or .tflite file to write")
    ex.add_argument("--format", choices=EXPORT_FORMATS,
                    help="default: tflite when OUT ends in .tflite, else saved_model")
    ex.add_argument("--quantize", choices=QUANTIZATIONS, default="none",
                    help="TFLite weights: float16 halves the file, dynamic stores int8 (smaller and faster, "
                         "less exact; docs/deployment.md measures both) (default: %(default)s)")
    ex.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    ex.set_defaults(run=run_export)

    st = commands.add_parser(
        "stream", help="upsample raw 16-bit PCM from stdin to stdout in real time",
        description=textwrap.fill(
            "Read raw 16-bit little-endian mono PCM at --rate from stdin and write raw 16-bit PCM at "
            "the model's output rate to stdout as the input arrives, block by block, with a fixed "
            "latency (printed at start: block + the network's and the spline's look-ahead). The output "
            "equals 'audiosr upsample' of the same samples; end of input flushes the rest.", 79),
        epilog="example: arecord -f S16_LE -r 8000 -c 1 | audiosr stream --rate 8000 | aplay -f S16_LE -r 16000 -c 1",
        formatter_class=formatter,
    )
    st.add_argument("--rate", type=_positive_float, required=True, metavar="HZ", help="sample rate of the input")
    st.add_argument("-m", "--model", metavar="MODEL",
                    help="a shipped model's name or a model file (.keras); default: the shipped speech model "
                         "for --rate")
    st.add_argument("--block-ms", type=_positive_float, default=1000 * DEFAULT_BLOCK_SECONDS, metavar="MS",
                    help="output block length; latency grows with it, computing cost shrinks "
                         "(default: %(default)g)")
    st.add_argument("--precision", choices=PRECISIONS, default="float32",
                    help="arithmetic of the network (see upsample) (default: %(default)s)")
    st.set_defaults(run=run_stream)

    info = commands.add_parser(
        "info", help="show a model's ratio, rates and size, and a shipped model's card",
        description="Show what a model file carries: its kind, ratio, sample rates and size; for a shipped model, "
                    "its card: training data and licences, held-out speakers, steps run, measured quality.",
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
