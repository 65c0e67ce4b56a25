"""The listening page: a self-contained HTML page to hear and see what each method did to each recording.

For every file: audio players for the low-res input, each baseline, each
model and the reference, their spectrograms side by side (one colour scale
per file) and their SNR / LSD; at the top, the means over the page's files.
Audio (16-bit WAV) and spectrograms (PNG) are written beside ``index.html``
as the files are added, so memory does not grow with their number; links
are relative and nothing is fetched from the network, so the folder can be
copied or served as it is.

The low-res input is written at its own rate when that is a whole number a
browser plays (3000 Hz and up); otherwise it is resampled to the output
rate (band-limited, so it sounds the same) and the page says so.
"""

import html
import os
import re
import urllib.parse

import numpy as np

from audiosr.atomic import write_text_atomic
from audiosr.audio_io import resample, write_audio_atomic
from audiosr.evaluation.reporting import BASELINE_LABELS
from audiosr.lowres import STUDY_METHOD, lowrate
from audiosr.plots import plot_spectrogram_panels

PAGE_NAME = "index.html"
MIN_BROWSER_RATE = 3000  # Chromium plays nothing slower
INPUT_LABEL = "Low-res input"
REFERENCE_LABEL = "Reference"

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table.scores { border-collapse: collapse; margin: 0.5em 0 1em; }
table.scores td, table.scores th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
table.scores th:first-child, table.scores td:first-child { text-align: left; }
.panels { display: flex; flex-wrap: wrap; gap: 0.8em; }
.panel { width: 280px; }
.panel img { width: 100%; }
.panel audio { width: 100%; }
.panel h3 { font-size: 0.95em; margin: 0.2em 0; }
.note { color: #666; font-size: 0.85em; }
"""


def _slug(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def _label(method):
    return BASELINE_LABELS.get(method, method)


class ListeningPage:
    """Add scored files one by one (:meth:`add`), then :meth:`write` ``folder/index.html``."""

    def __init__(self, folder, ratio, sample_rate, title):
        self.folder = os.fspath(folder)
        self.ratio, self.sample_rate, self.title = int(ratio), int(sample_rate), title
        self._sections = []
        self._rows = []

    @property
    def files(self):
        """Names of the files added so far."""
        return [name for name, _, _ in self._sections]

    def add(self, name, reference, estimates, rows, lowres=STUDY_METHOD):
        """One file: ``reference`` (1-D at ``sample_rate``), ``estimates`` (method -> signal) made from the
        low-res input that input maker ``lowres`` (:mod:`audiosr.lowres`) made of it, and its score rows."""
        index = len(self._sections)
        subfolder = f"{index:03d}-{_slug(name)}"
        low = lowrate(reference, self.ratio, lowres)
        low_rate = self.sample_rate / self.ratio
        note = None
        if low_rate != int(low_rate) or low_rate < MIN_BROWSER_RATE:
            low, low_rate = resample(low, low_rate, self.sample_rate), self.sample_rate
            note = f"played at {self.sample_rate} Hz: {self.sample_rate / self.ratio:g} Hz is not a rate browsers play"
        signals = {INPUT_LABEL: (low, int(low_rate)),
                   **{_label(method): (signal, self.sample_rate) for method, signal in estimates.items()},
                   REFERENCE_LABEL: (reference, self.sample_rate)}
        files = {label: f"{subfolder}/{i}-{_slug(label)}" for i, label in enumerate(signals)}
        for label, (signal, rate) in signals.items():
            write_audio_atomic(os.path.join(self.folder, files[label] + ".wav"), np.clip(signal, -1.0, 1.0), rate,
                               subtype="PCM_16")
        plot_spectrogram_panels(signals, {label: os.path.join(self.folder, files[label] + ".png") for label in signals})
        scores = {_label(row["method"]): row for row in rows}
        self._rows.extend(rows)
        self._sections.append((name, [(label, rate, files[label], scores.get(label)) for label, (_, rate)
                                      in signals.items()], note))

    def write(self):
        """Write ``index.html`` (atomically) and return its path."""
        path = os.path.join(self.folder, PAGE_NAME)
        parts = [f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 f"<title>{html.escape(self.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
                 f"<h1>{html.escape(self.title)}</h1>\n"
                 f"<p>x{self.ratio} super-resolution to {self.sample_rate} Hz. SNR in dB (higher is better), "
                 "LSD (lower is better), each against the reference.</p>\n",
                 self._summary()]
        for name, panels, note in self._sections:
            parts.append(self._section(name, panels, note))
        parts.append("</body>\n</html>\n")
        write_text_atomic(path, "".join(parts))
        return path

    def _summary(self):
        methods = list(dict.fromkeys(_label(row["method"]) for row in self._rows))
        files = len(self._sections)
        lines = [f"<h2>Mean of {files} file{'s' if files != 1 else ''}</h2>\n<table class=\"scores\">"
                 "<tr><th>method</th><th>SNR (dB)</th><th>LSD</th></tr>"]
        for method in methods:
            group = [row for row in self._rows if _label(row["method"]) == method]
            lines.append(f"<tr><td>{html.escape(method)}</td><td>{np.mean([r['snr'] for r in group]):.2f}</td>"
                         f"<td>{np.mean([r['lsd'] for r in group]):.3f}</td></tr>")
        return "\n".join(lines) + "\n</table>\n"

    @staticmethod
    def _section(name, panels, note):
        out = [f"<section>\n<h2>{html.escape(name)}</h2>\n<table class=\"scores\">"
               "<tr><th>method</th><th>SNR (dB)</th><th>LSD</th></tr>"]
        for label, _, _, row in panels:
            if row is not None:
                out.append(f"<tr><td>{html.escape(label)}</td><td>{row['snr']:.2f}</td><td>{row['lsd']:.3f}</td></tr>")
        out.append("</table>\n<div class=\"panels\">")
        for label, rate, stem, _ in panels:
            link = urllib.parse.quote(stem)
            caption = f"{html.escape(label)} <span class=\"note\">({rate} Hz)</span>"
            extra = f"<p class=\"note\">{html.escape(note)}</p>" if note and label == INPUT_LABEL else ""
            out.append(f"<div class=\"panel\"><h3>{caption}</h3>\n"
                       f"<audio controls preload=\"metadata\" src=\"{link}.wav\"></audio>\n"
                       f"<img src=\"{link}.png\" alt=\"spectrogram of {html.escape(label)}\">{extra}</div>")
        out.append("</div>\n</section>\n")
        return "\n".join(out)
