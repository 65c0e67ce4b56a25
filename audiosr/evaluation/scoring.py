"""Scoring models against interpolation baselines on whole recordings.

The low-res input is made from each high-res reference exactly as in
training (:func:`audiosr.lowres.simulate_lowres`), every method reconstructs
the whole utterance, and SNR / LSD (:mod:`audiosr.metrics`) are computed per
file. These rows feed ``audiosr evaluate``'s table, the study's report
(``experiments/report.py``, Figure 3) and the quality benchmark.
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
from audiosr.lowres import SAMPLE_RATE, decimate, simulate_lowres
from audiosr.metrics import N_FFT, lsd, snr

LOGGER = logging.getLogger("audiosr")
# LSD's centred STFT frames need more than half a window of signal.
MIN_REFERENCE_SAMPLES = N_FFT
CSV_FIELDS = ("file", "method", "snr", "lsd")


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


def reconstruct(y, ratio, models, baselines=("spline",)):
    """Every method's estimate of high-res ``y`` from its low-res version: dict method -> signal.

    Baselines interpolate the decimated signal; models enhance the spline
    input of :func:`simulate_lowres`, the same input they were trained on.
    """
    unknown = [name for name in baselines if name not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baselines {unknown}; choose from {sorted(BASELINES)}")
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    estimates = {}
    if baselines:
        x_lr = decimate(y, ratio)
        estimates.update({name: BASELINES[name](x_lr, ratio, length=y.shape[0]) for name in baselines})
    if models:
        spline_input = simulate_lowres(y, ratio)
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


def score_file(path, ratio, models, baselines=("spline",), sample_rate=SAMPLE_RATE):
    """Load one reference, reconstruct it with every method and score it.

    Returns ``(rows, reference, estimates)``; raises AudioFileError for a bad file.
    """
    y = load_reference(path, sample_rate)
    estimates = reconstruct(y, ratio, models, baselines)
    rows = [{"file": os.fspath(path), "method": method, **values}
            for method, values in score_estimates(y, estimates).items()]
    return rows, y, estimates


def score_references(paths, ratio, models, baselines=("spline",), sample_rate=SAMPLE_RATE, progress=True,
                     errors=None, on_file=None):
    """Score baselines and models on whole reference files.

    ``models`` maps display names to models. Returns rows
    ``{"file", "method", "snr", "lsd"}``, baselines first, in file order.
    Unreadable, too short or silent files are skipped: each is logged as a warning
    on the "audiosr" logger and, when ``errors`` is a list, appended to it as
    an :class:`AudioFileError`. ``on_file(path, rows, reference, estimates)``,
    when given, sees each scored file (e.g. a listening page).
    """
    from tqdm.auto import tqdm

    check_models(models, ratio, sample_rate)
    rows = []
    for path in tqdm(list(paths), desc="evaluating", unit="file", disable=not progress):
        try:
            file_rows, reference, estimates = score_file(path, ratio, models, baselines, sample_rate)
        except AudioFileError as error:
            LOGGER.warning("skipped %s", error)
            if errors is not None:
                errors.append(error)
            continue
        rows.extend(file_rows)
        if on_file is not None:
            on_file(path, file_rows, reference, estimates)
    return rows


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
    """Write rows (file, method, snr, lsd) to ``path`` atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def plot_comparison(reference, estimates, sample_rate, out_path, title=None):
    """The one comparison figure: the high-res target's spectrogram above each method's (label -> signal)."""
    from audiosr.plots import plot_spectrograms

    plot_spectrograms({"High-res target": reference, **estimates}, sample_rate, out_path, title=title)


def plot_spectrogram_comparison(path, ratio, models, out_path, seconds=3.0):
    """The study's Figures 5-8: :func:`plot_comparison` of the first ``seconds`` of recording ``path``,
    upsampled by spline and by every model (``models``: label -> model)."""
    y = load_reference(path)[: int(seconds * SAMPLE_RATE)]
    estimates = reconstruct(y, ratio, models, baselines=("spline",))
    estimates = {"Spline": estimates.pop("spline"), **estimates}
    plot_comparison(y, estimates, SAMPLE_RATE, out_path, title=f"{os.path.basename(path)}, r = {ratio}")
