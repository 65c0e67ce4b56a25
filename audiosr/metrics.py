"""Quality metrics: SNR and log-spectral distance (LSD).

One source of truth for the numbers in every table. The numpy functions score
whole utterances; the ``*_per_example`` functions are their keras.ops twins,
used by the models' validation trackers on batches of patches. Every function
takes the reference first and the estimate second.

LSD follows NVSR / AP-BWE: log10 power spectra, STFT n_fft 2048, hop 512,
periodic Hann window, frames centred by reflect padding (torch.stft's and
keras.ops.stft's convention), root-mean-square over frequency, mean over
frames. ``LSD_EPSILON`` keeps the log finite on digital silence.
"""

import numpy as np

N_FFT = 2048
HOP_LENGTH = 512
LSD_EPSILON = 1e-10
SNR_EPSILON = 1e-12


def _as_pair(y, y_hat):
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    y_hat = np.asarray(y_hat, dtype=np.float64).reshape(-1)
    if y_hat.shape != y.shape:
        raise ValueError(f"signals differ in length: reference {y.shape[0]}, estimate {y_hat.shape[0]}")
    return y, y_hat


def snr(y, y_hat):
    """SNR in dB of the estimate ``y_hat`` against the reference ``y``.

    ``10 log10(||y||^2 / ||y_hat - y||^2)``; a perfect estimate gives +inf.
    """
    y, y_hat = _as_pair(y, y_hat)
    noise = np.sum((y_hat - y) ** 2)
    if noise == 0.0:
        return float("inf")
    return float(10.0 * np.log10(np.sum(y**2) / noise))


def power_spectrogram(x, n_fft, hop_length, pad_mode="reflect"):
    """|STFT|^2 of a 1-D signal with centred, periodic-Hann frames, shape (frames, n_fft // 2 + 1).

    ``pad_mode`` fills the half frame before the first sample and after the
    last: "reflect" (LSD's convention) needs more than n_fft // 2 samples;
    "constant" (zeros, for pictures) takes a signal of any length.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    pad = n_fft // 2
    if pad_mode == "reflect" and x.shape[0] <= pad:
        raise ValueError(f"signal of {x.shape[0]} samples is too short for an STFT of {n_fft} points")
    window = np.hanning(n_fft + 1)[:-1]  # periodic Hann
    x = np.pad(x, (pad, pad), mode=pad_mode)
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop_length]
    return np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2


def lsd(y, y_hat, n_fft=N_FFT, hop_length=HOP_LENGTH, epsilon=LSD_EPSILON):
    """Log-spectral distance of the estimate ``y_hat`` from the reference ``y``
    (log10 power, RMS over frequency, mean over frames)."""
    y, y_hat = _as_pair(y, y_hat)
    log_ref = np.log10(power_spectrogram(y, n_fft, hop_length) + epsilon)
    log_est = np.log10(power_spectrogram(y_hat, n_fft, hop_length) + epsilon)
    return float(np.mean(np.sqrt(np.mean((log_ref - log_est) ** 2, axis=-1))))


def snr_per_example(y_true, y_pred):
    """keras.ops SNR in dB of each example in a batch, shape (batch,)."""
    from keras import ops

    axes = tuple(range(1, len(y_true.shape)))
    signal = ops.sum(ops.square(y_true), axis=axes)
    noise = ops.sum(ops.square(y_pred - y_true), axis=axes)
    return 10.0 * ops.log10((signal + SNR_EPSILON) / (noise + SNR_EPSILON))


def lsd_per_example(y_true, y_pred, n_fft=N_FFT, hop_length=HOP_LENGTH):
    """keras.ops LSD of each (batch, time, 1) example, shape (batch,).

    Same definition as :func:`lsd`; patches shorter than ``n_fft`` are scored
    with a window of their own length rounded down to a power of two.
    """
    from keras import ops

    length = y_true.shape[1]
    if length is not None and length < n_fft:
        n_fft = 1 << (int(length).bit_length() - 1)
        hop_length = max(1, n_fft // 4)

    def log_power(x):
        real, imag = ops.stft(
            ops.reshape(x, (ops.shape(x)[0], -1)),
            sequence_length=n_fft,
            sequence_stride=hop_length,
            fft_length=n_fft,
            window="hann",
            center=True,
        )
        return ops.log10(ops.square(real) + ops.square(imag) + LSD_EPSILON)

    diff = log_power(y_true) - log_power(y_pred)
    return ops.mean(ops.sqrt(ops.mean(ops.square(diff), axis=-1)), axis=-1)
