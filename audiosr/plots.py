"""Every figure: spectrogram comparisons (the study's Figures 5-8, and the listening page's panels), loss
curves (Figure 4, from histories the caller reads) and images for TensorBoard.

Uses matplotlib's non-interactive Agg backend; every PNG is written to a
temporary name and renamed, so a reader never finds half a picture.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from audiosr.atomic import atomic_path  # noqa: E402
from audiosr.metrics import power_spectrogram  # noqa: E402

SPECTROGRAM_N_FFT = 1024
SPECTROGRAM_HOP = 256
FLOOR_DB = -100.0


def log_spectrogram(x, n_fft=SPECTROGRAM_N_FFT, hop_length=SPECTROGRAM_HOP):
    """Power spectrogram in dB, shape (frequencies, frames), floored at -100 dB (zero-padded ends: any length)."""
    power = power_spectrogram(x, n_fft, hop_length, pad_mode="constant").T
    return np.maximum(10.0 * np.log10(power + 1e-10), FLOOR_DB)


def save_figure_atomic(figure, path, dpi=110):
    """Save ``figure`` as PNG via a temporary file and a rename, then close it."""
    try:
        with atomic_path(path, suffix=".png") as tmp:
            figure.savefig(tmp, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(figure)


def _show_spectrogram(axis, image, sample_rate, top):
    """Draw one log spectrogram (from :func:`log_spectrogram`) on ``axis``, ``top`` dB the colour scale's top."""
    seconds = image.shape[1] * SPECTROGRAM_HOP / sample_rate
    return axis.imshow(
        image, origin="lower", aspect="auto", cmap="magma", vmin=max(top - 80.0, FLOOR_DB), vmax=top,
        extent=(0.0, seconds, 0.0, sample_rate / 2000.0),
    )


def spectrogram_figure(signals, sample_rate, title=None, row_height=2.2):
    """One row per labelled signal, shared colour scale, frequency in kHz up to ``sample_rate`` / 2.

    A signal is an array at ``sample_rate``, or ``(samples, rate)`` at a
    lower rate, whose band above its own Nyquist frequency is left blank (a
    low-rate input beside its upsampled versions).
    """
    rated = {label: value if isinstance(value, tuple) else (value, sample_rate) for label, value in signals.items()}
    labels = list(rated)
    figure, axes = plt.subplots(len(labels), 1, figsize=(9, row_height * len(labels)), sharex=True, squeeze=False)
    images = {label: log_spectrogram(samples) for label, (samples, _) in rated.items()}
    top = max(float(image.max()) for image in images.values())
    for axis, label in zip(axes[:, 0], labels):
        mesh = _show_spectrogram(axis, images[label], rated[label][1], top)
        axis.set_ylim(0.0, sample_rate / 2000.0)
        axis.set_ylabel("kHz")
        axis.set_title(label, loc="left", fontsize=10)
    axes[-1, 0].set_xlabel("time (s)")
    figure.colorbar(mesh, ax=axes[:, 0].tolist(), label="dB", shrink=0.8)
    if title:
        figure.suptitle(title)
    return figure


def plot_spectrogram_panels(signals, paths):
    """One small PNG per signal, to be shown side by side: the same colour scale and frequency axis.

    ``signals`` maps a label to ``(samples, sample_rate)`` (rates may
    differ: a low-rate signal leaves the band above its Nyquist empty);
    ``paths`` maps the same labels to the PNG files to write.
    """
    images = {label: log_spectrogram(x) for label, (x, _) in signals.items()}
    top = max(float(image.max()) for image in images.values())
    khz = max(rate for _, rate in signals.values()) / 2000.0
    for label, (_, rate) in signals.items():
        figure, axis = plt.subplots(figsize=(3.6, 2.4))
        _show_spectrogram(axis, images[label], rate, top)
        axis.set_ylim(0.0, khz)
        axis.set_xlabel("time (s)", fontsize=8)
        axis.set_ylabel("kHz", fontsize=8)
        axis.tick_params(labelsize=7)
        save_figure_atomic(figure, paths[label], dpi=80)


def plot_spectrograms(signals, sample_rate, path, title=None):
    """Write a PNG comparing the spectrograms of ``signals`` (label -> 1-D array)."""
    save_figure_atomic(spectrogram_figure(signals, sample_rate, title), path)


def plot_loss_curves(histories, path, metric="val_loss", title=None):
    """Write a PNG of ``metric`` per epoch for each run (label -> {metric: [values]})."""
    figure, axis = plt.subplots(figsize=(7, 4))
    for label, history in histories.items():
        values = history.get(metric)
        if values:
            axis.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=label)
    axis.set_xlabel("epoch")
    axis.set_ylabel(metric)
    axis.grid(alpha=0.3)
    if axis.lines:
        axis.legend()
    if title:
        axis.set_title(title)
    save_figure_atomic(figure, path)


def figure_to_array(figure):
    """RGB pixels (height, width, 3) uint8 of ``figure``, which is then closed (for TensorBoard images)."""
    try:
        figure.canvas.draw()
        return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    finally:
        plt.close(figure)
