"""Quality metrics: SNR and log-spectral distance (LSD).

One source of truth for the numbers in every table. The numpy functions score
whole utterances; the ``*_per_example`` functions are their keras.ops twins,
used by the models' validation trackers on batches of patches.

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


def _as_pair(y_hat, y):
    y_hat = np.asarray(y_hat, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y_hat.shape != y.shape:
        raise ValueError(f"signals differ in length: {y_hat.shape[0]} vs {y.shape[0]}")
    return y_hat, y


def snr(y_hat, y):
    """SNR in dB of the estimate ``y_hat`` against the reference ``y``.

    ``10 log10(||y||^2 / ||y_hat - y||^2)``; a perfect estimate gives +inf.
    """
    y_hat, y = _as_pair(y_hat, y)
    noise = np.sum((y_hat - y) ** 2)
    if noise == 0.0:
        return float("inf")
    return float(10.0 * np.log10(np.sum(y**2) / noise))


def _power_spectrogram(x, n_fft, hop_length):
    """|STFT|^2 with centred Hann frames, shape (frames, n_fft // 2 + 1)."""
    pad = n_fft // 2
    if x.shape[0] <= pad:
        raise ValueError(f"signal of {x.shape[0]} samples is too short for an STFT of {n_fft} points")
    window = np.hanning(n_fft + 1)[:-1]  # periodic Hann
    x = np.pad(x, (pad, pad), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop_length]
    return np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2


def lsd(y_hat, y, n_fft=N_FFT, hop_length=HOP_LENGTH, epsilon=LSD_EPSILON):
    """Log-spectral distance (log10 power, RMS over frequency, mean over frames)."""
    y_hat, y = _as_pair(y_hat, y)
    log_ref = np.log10(_power_spectrogram(y, n_fft, hop_length) + epsilon)
    log_est = np.log10(_power_spectrogram(y_hat, n_fft, hop_length) + epsilon)
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
