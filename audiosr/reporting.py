"""The study's reports: the Figure 3 table (SNR / LSD per ratio and method), Figure 4
(validation-loss curves) and Figures 5-8 (one recording's spectrogram under every method).

Inputs are plain results: ``audiosr.evaluation.summarize`` dicts per ratio
and the CSV histories training runs write, so evaluation, the benchmark and
anyone's notebook print the same table.
"""

import csv
import io
import math
import os

from audiosr.atomic import atomic_path
from audiosr.plots import plot_loss_curves

# Column order of Figure 3; methods outside it are appended in the order met.
METHOD_ORDER = ("Spline", "UNet", "UNet-C", "GAN", "GAN-C", "WGAN", "WGAN-C")
BASELINE_LABELS = {"spline": "Spline", "sinc": "Sinc"}
MODEL_LABELS = {"unet": "UNet", "gan": "GAN", "wgan": "WGAN"}
# For each metric, whether larger is better (marks the best cell in markdown).
METRICS = {"snr": ("SNR (dB)", True), "lsd": ("LSD", False)}


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def model_label(kind, content=False):
    """Display name of a model: ``model_label("wgan", True) == "WGAN-C"``."""
    return MODEL_LABELS[kind] + ("-C" if content else "")


def parse_model_name(name):
    """``"wgan-c"`` -> ``("wgan", True)``; accepts display names too (``"UNet-C"``)."""
    lowered = name.strip().lower()
    kind, content = (lowered[:-2], True) if lowered.endswith("-c") else (lowered, False)
    if kind not in MODEL_LABELS:
        raise ValueError(f"unknown model {name!r}; use one of unet, gan, wgan, optionally with -c (e.g. wgan-c)")
    return kind, content


def _label(method):
    return BASELINE_LABELS.get(method, method)


def _methods(summaries):
    seen = []
    for summary in summaries.values():
        for method in summary:
            if _label(method) not in seen:
                seen.append(_label(method))
    return [m for m in METHOD_ORDER if m in seen] + [m for m in seen if m not in METHOD_ORDER]


def figure3_rows(summaries):
    """Rows of Figure 3: one per (metric, ratio), values per method (None where not evaluated).

    ``summaries`` maps ratio -> ``summarize`` result ({method: {"snr", "lsd", "files"}}).
    Returns (methods, rows) with rows ``{"metric", "ratio", "values": {method: float | None}}``.
    """
    methods = _methods(summaries)
    rows = []
    for ratio in sorted(summaries):
        by_label = {_label(m): v for m, v in summaries[ratio].items()}
        for metric in METRICS:
            values = {m: (by_label[m][metric] if m in by_label else None) for m in methods}
            rows.append({"metric": metric, "ratio": ratio, "values": values})
    return methods, rows


def figure3_markdown(summaries, title=None):
    """Figure 3 as a markdown table; the best value of each row is bold."""
    methods, rows = figure3_rows(summaries)
    lines = [f"**{title}**", ""] if title else []
    lines += ["| metric | r | " + " | ".join(methods) + " |", "| --- | --- |" + " ---: |" * len(methods)]
    for row in rows:
        name, higher_better = METRICS[row["metric"]]
        present = [v for v in row["values"].values() if v is not None and math.isfinite(v)]
        best = (max if higher_better else min)(present) if present else None
        cells = []
        for method in methods:
            value = row["values"][method]
            text = "n/a" if value is None else f"{value:.2f}"
            cells.append(f"**{text}**" if value is not None and value == best and len(present) > 1 else text)
        lines.append(f"| {name} | {row['ratio']} | " + " | ".join(cells) + " |")
    files = sorted({v["files"] for s in summaries.values() for v in s.values()})
    lines += ["", f"Means over {', '.join(map(str, files))} whole files per method; "
                  "higher SNR and lower LSD are better."]
    return "\n".join(lines) + "\n"


def figure3_csv(summaries):
    """Figure 3 as CSV text: columns metric, ratio, then one per method (empty where not evaluated)."""
    methods, rows = figure3_rows(summaries)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "ratio", *methods])
    for row in rows:
        writer.writerow([row["metric"], row["ratio"],
                         *("" if row["values"][m] is None else f"{row['values'][m]:.4f}" for m in methods)])
    return buffer.getvalue()


def write_figure3(summaries, out_dir, stem="figure3", title=None):
    """Write ``<stem>.md`` and ``<stem>.csv`` into ``out_dir``; returns (markdown text, paths)."""
    markdown = figure3_markdown(summaries, title=title)
    paths = [os.path.join(os.fspath(out_dir), f"{stem}.md"), os.path.join(os.fspath(out_dir), f"{stem}.csv")]
    write_text_atomic(paths[0], markdown)
    write_text_atomic(paths[1], figure3_csv(summaries))
    return markdown, paths


def read_history(path):
    """A Keras CSVLogger file as {metric: [value per epoch]} (epochs in file order)."""
    with open(os.fspath(path), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    history = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch" and value not in (None, ""):
                history.setdefault(key, []).append(float(value))
    return history


def plot_validation_curves(history_paths, path, metric="val_loss", title=None):
    """Figure 4: ``metric`` per epoch for each run (label -> history CSV path); returns labels plotted."""
    histories = {label: read_history(p) for label, p in history_paths.items() if os.path.isfile(p)}
    plot_loss_curves(histories, path, metric=metric, title=title)
    return [label for label, history in histories.items() if history.get(metric)]


def plot_spectrogram_comparison(path, ratio, models, out_path, seconds=3.0):
    """Figures 5-8: spectrograms of the first ``seconds`` of recording ``path``: the high-res target,
    its spline reconstruction and every model's (``models``: label -> model), one row each."""
    from audiosr.evaluation import load_reference, reconstruct
    from audiosr.lowres import SAMPLE_RATE
    from audiosr.plots import plot_spectrograms

    y = load_reference(path)[: int(seconds * SAMPLE_RATE)]
    estimates = reconstruct(y, ratio, models, baselines=("spline",))
    signals = {"High-res target": y, "Spline": estimates.pop("spline"), **estimates}
    plot_spectrograms(signals, SAMPLE_RATE, out_path, title=f"{os.path.basename(path)}, r = {ratio}")
