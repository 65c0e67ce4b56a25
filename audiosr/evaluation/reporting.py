"""The study's tables and run figures: Figure 3 (SNR and LSD per ratio and method, markdown and CSV)
and Figure 4 (each run's validation loss per epoch, read from its history.csv).

Inputs are plain results, ``audiosr.evaluation.scoring.summarize`` dicts per ratio, so
the study's report, the benchmark and anyone's notebook print the same table.
The drawing itself is :mod:`audiosr.plots`.
"""

import csv
import io
import math
import os

from audiosr.atomic import write_text_atomic
from audiosr.lowres import STUDY_METHOD
from audiosr.train.history import read_history

# Column order of Figure 3; methods outside it are appended in the order met.
METHOD_ORDER = ("Spline", "UNet", "UNet-C", "GAN", "GAN-C", "WGAN", "WGAN-C")
BASELINE_LABELS = {"spline": "Spline", "sinc": "Sinc"}
# For each metric, whether larger is better (marks the best cell in markdown).
METRICS = {"snr": ("SNR (dB)", True), "lsd": ("LSD", False)}


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


def lowres_stem(stem, lowres):
    """The file stem of a table or figure whose inputs input maker ``lowres`` made: ``stem`` for the study's
    decimation (``figure3``), ``<stem>-<maker>`` for any other (``figure3-soxr``)."""
    return stem if lowres == STUDY_METHOD else f"{stem}-{lowres}"


def write_figure3(summaries, out_dir, stem="figure3", title=None):
    """Write ``<stem>.md`` and ``<stem>.csv`` into ``out_dir``; returns (markdown text, paths)."""
    markdown = figure3_markdown(summaries, title=title)
    paths = [os.path.join(os.fspath(out_dir), f"{stem}.md"), os.path.join(os.fspath(out_dir), f"{stem}.csv")]
    write_text_atomic(paths[0], markdown)
    write_text_atomic(paths[1], figure3_csv(summaries))
    return markdown, paths


def plot_validation_curves(history_paths, path, metric="val_loss", title=None):
    """Figure 4: ``metric`` per epoch for each run (label -> history CSV path); returns labels plotted."""
    histories = {label: read_history(p) for label, p in history_paths.items() if os.path.isfile(p)}
    from audiosr.plots import plot_loss_curves

    plot_loss_curves(histories, path, metric=metric, title=title)
    return [label for label, history in histories.items() if history.get(metric)]
