"""Scoring models against interpolation baselines on whole recordings.

The low-rate recording is made from each high-res reference by each named
*input maker* (a method of :mod:`audiosr.lowres`: the study's ``decimate``,
which its training data was made with, or ``soxr``, ``polyphase``,
``telephone``, ... which real low-rate files come from); every method
reconstructs the whole utterance from it, and SNR / LSD
(:mod:`audiosr.metrics`) are computed per file. These rows (file, lowres,
method, snr, lsd) feed ``audiosr evaluate``'s tables, the study's report
(``experiments/report.py``, Figure 3) and the quality benchmark, one table
per input maker.
"""

import csv
import io
import logging
import os

import numpy as np

from audiosr.atomic import write_text_atomic
from audiosr.audio_io import AudioFileError, load_audio
from audiosr.baselines import BASELINES
from audiosr.inference import enhance
from audiosr.lowres import SAMPLE_RATE, STUDY_METHOD, lowrate, model_input, parse_methods
from audiosr.metrics import N_FFT, lsd, snr

LOGGER = logging.getLogger("audiosr")
# LSD's centred STFT frames need more than half a window of signal.
MIN_REFERENCE_SAMPLES = N_FFT
CSV_FIELDS = ("file", "lowres", "method", "snr", "lsd")


def input_makers(lowres, ratio):
    """The distinct input makers ``lowres`` names, in order: a spec (``"decimate,soxr"``, a mix name) or a
    sequence of names; ValueError names one that is unknown or cannot make the low rate of ``ratio``."""
    text = lowres if isinstance(lowres, str) else ",".join(lowres)
    return tuple(dict.fromkeys(parse_methods(text, ratio)))


def check_models(models, ratio, sample_rate=SAMPLE_RATE):
    """Refuse models trained for another ratio or output rate than the evaluation's."""
    for name, model in models.items():
        model_ratio = getattr(model, "ratio", ratio)
        model_rate = getattr(model, "sample_rate", sample_rate)
        if model_ratio != ratio or model_rate != sample_rate:
            raise ValueError(
                f"model {name!r} upsamples x{model_ratio} to {model_rate} Hz, "
                f"but the evaluation is x{ratio} to {sample_rate} Hz"
            )


def reconstruct(y, ratio, models, baselines=("spline",), lowres=STUDY_METHOD):
    """Every method's estimate of high-res ``y`` from the low-rate recording input maker ``lowres`` makes of
    it: dict method -> signal.

    Baselines interpolate the low-rate samples; models enhance their spline
    (:func:`audiosr.lowres.model_input`), the kind of input they were
    trained on. A random maker (``iir-random``) draws with seed 0.
    """
    unknown = [name for name in baselines if name not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baselines {unknown}; choose from {sorted(BASELINES)}")
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    x_lr = lowrate(y, ratio, lowres)
    estimates = {name: BASELINES[name](x_lr, ratio, length=y.shape[0]) for name in baselines}
    if models:
        spline_input = model_input(x_lr, ratio, length=y.shape[0])
        estimates.update({name: enhance(model, spline_input) for name, model in models.items()})
    return estimates


def score_estimates(y, estimates):
    """{method: {"snr": dB, "lsd": value}} of each estimate against reference ``y``."""
    return {name: {"snr": snr(y, est), "lsd": lsd(y, est)} for name, est in estimates.items()}


def load_reference(path, sample_rate=SAMPLE_RATE):
    """A reference recording as 16 kHz (``sample_rate``) mono float32; raises AudioFileError.

    A silent reference is refused: SNR measures error against the
    reference's energy, so with none it is infinite (or undefined) and would
    swamp every mean it enters.
    """
    audio, _ = load_audio(path, target_rate=sample_rate, mono=True, min_samples=MIN_REFERENCE_SAMPLES)
    if not np.any(audio):
        raise AudioFileError(path, "silent (every sample is zero): SNR against it is undefined, so it is not scored")
    return audio


def score_file(path, ratio, models, baselines=("spline",), sample_rate=SAMPLE_RATE, lowres=(STUDY_METHOD,)):
    """Load one reference, make its low-rate input with each input maker in ``lowres``
    (:func:`input_makers`), reconstruct it with every method and score it.

    Returns ``(rows, reference, estimates)``: rows ``{"file", "lowres",
    "method", "snr", "lsd"}`` (makers in order, baselines first) and
    estimates {maker: {method: signal}}; raises AudioFileError for a bad file.
    """
    makers = input_makers(lowres, ratio)
    y = load_reference(path, sample_rate)
    rows, estimates = [], {}
    for maker in makers:
        estimates[maker] = reconstruct(y, ratio, models, baselines, maker)
        rows += [{"file": os.fspath(path), "lowres": maker, "method": method, **values}
                 for method, values in score_estimates(y, estimates[maker]).items()]
    return rows, y, estimates


def score_references(paths, ratio, models, baselines=("spline",), sample_rate=SAMPLE_RATE, progress=True,
                     errors=None, on_file=None, lowres=(STUDY_METHOD,)):
    """Score baselines and models on whole reference files, their inputs made by each maker in ``lowres``.

    ``models`` maps display names to models. Returns the rows of
    :func:`score_file`, in file order (:func:`by_lowres` splits them per
    maker). Unreadable, too short or silent files are skipped: each is
    logged as a warning on the "audiosr" logger and, when ``errors`` is a
    list, appended to it as an :class:`AudioFileError`.
    ``on_file(path, rows, reference, estimates)``, when given, sees each
    scored file as :func:`score_file` returns it (e.g. a listening page).
    """
    from tqdm.auto import tqdm

    check_models(models, ratio, sample_rate)
    makers = input_makers(lowres, ratio)
    rows = []
    for path in tqdm(list(paths), desc="evaluating", unit="file", disable=not progress):
        try:
            file_rows, reference, estimates = score_file(path, ratio, models, baselines, sample_rate, makers)
        except AudioFileError as error:
            LOGGER.warning("skipped %s", error)
            if errors is not None:
                errors.append(error)
            continue
        rows.extend(file_rows)
        if on_file is not None:
            on_file(path, file_rows, reference, estimates)
    return rows


def by_lowres(rows):
    """{input maker: its rows}, makers in order of appearance: one table (:func:`summarize`) each."""
    grouped = {}
    for row in rows:
        grouped.setdefault(row.get("lowres", STUDY_METHOD), []).append(row)
    return grouped


def summarize(rows):
    """{method: {"snr": mean, "lsd": mean, "files": n}}, methods in order of appearance."""
    grouped = {}
    for row in rows:
        grouped.setdefault(row["method"], []).append(row)
    return {
        method: {
            "snr": float(np.mean([r["snr"] for r in group])),
            "lsd": float(np.mean([r["lsd"] for r in group])),
            "files": len(group),
        }
        for method, group in grouped.items()
    }


def write_scores_csv(rows, path):
    """Write rows (file, lowres, method, snr, lsd) to ``path`` atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def plot_comparison(reference, estimates, sample_rate, out_path, title=None):
    """The one comparison figure: the high-res target's spectrogram above each method's (label -> signal)."""
    from audiosr.plots import plot_spectrograms

    plot_spectrograms({"High-res target": reference, **estimates}, sample_rate, out_path, title=title)


def plot_spectrogram_comparison(path, ratio, models, out_path, seconds=3.0, lowres=STUDY_METHOD):
    """The study's Figures 5-8: :func:`plot_comparison` of the first ``seconds`` of recording ``path``,
    upsampled by spline and by every model (``models``: label -> model) from input maker ``lowres``'s input."""
    y = load_reference(path)[: int(seconds * SAMPLE_RATE)]
    estimates = reconstruct(y, ratio, models, baselines=("spline",), lowres=lowres)
    estimates = {"Spline": estimates.pop("spline"), **estimates}
    maker = "" if lowres == STUDY_METHOD else f", input by {lowres}"
    plot_comparison(y, estimates, SAMPLE_RATE, out_path, title=f"{os.path.basename(path)}, r = {ratio}{maker}")
