import keras
import numpy as np
import pytest
from scipy import signal

from audiosr import metrics


def test_snr_of_signal_against_itself_is_infinite(rng):
    y = rng.standard_normal(1000)
    assert metrics.snr(y, y) == float("inf")


@pytest.mark.parametrize("scale,expected_db", [(0.5, 20 * np.log10(2.0)), (0.9, 20.0), (2.0, 0.0)])
def test_snr_of_scaled_copy(rng, scale, expected_db):
    # ||y||^2 / ||(scale - 1) y||^2 = 1 / (scale - 1)^2
    y = rng.standard_normal(4000)
    assert metrics.snr(y, scale * y) == pytest.approx(expected_db, abs=1e-9)


def test_snr_rejects_length_mismatch():
    with pytest.raises(ValueError, match="differ in length"):
        metrics.snr(np.zeros(10), np.zeros(11))


def test_lsd_of_signal_against_itself_is_zero(rng):
    y = rng.standard_normal(16000)
    assert metrics.lsd(y, y) == 0.0


def test_lsd_of_scaled_copy_is_log_ratio(rng):
    # Scaling by a changes log10 power by 2 log10(a) in every bin (up to epsilon).
    y = rng.standard_normal(16000)
    assert metrics.lsd(y, 0.1 * y) == pytest.approx(2.0, rel=1e-3)


def test_lsd_matches_hand_computed_frames(rng):
    y = rng.standard_normal(5000)
    y_hat = y + 0.3 * rng.standard_normal(5000)
    n_fft, hop = 512, 128
    window = signal.get_window("hann", n_fft)  # periodic Hann
    frames = []
    for x in (y, y_hat):
        padded = np.pad(x, n_fft // 2, mode="reflect")
        starts = range(0, padded.shape[0] - n_fft + 1, hop)
        frames.append(np.array([np.abs(np.fft.rfft(padded[s : s + n_fft] * window)) ** 2 for s in starts]))
    per_frame = [
        np.sqrt(np.mean((np.log10(a + 1e-10) - np.log10(b + 1e-10)) ** 2)) for a, b in zip(*frames)
    ]
    assert metrics.lsd(y, y_hat, n_fft=n_fft, hop_length=hop) == pytest.approx(np.mean(per_frame), rel=1e-9)


def test_lsd_rejects_signals_shorter_than_half_a_window():
    with pytest.raises(ValueError, match="too short"):
        metrics.lsd(np.ones(1000), np.ones(1000))


def test_lsd_grows_when_upper_band_is_missing(rng):
    y = rng.standard_normal(32000)
    sos = signal.butter(10, 4000, fs=16000, output="sos")
    lowpassed = signal.sosfiltfilt(sos, y)
    full_band = metrics.lsd(y, lowpassed)
    assert full_band > 1.0  # bins above 4 kHz lost many orders of magnitude
    # The upper half of the spectrum is where the distance comes from.
    spec_ref = metrics.power_spectrogram(y, 2048, 512)
    spec_low = metrics.power_spectrogram(lowpassed, 2048, 512)
    diff = (np.log10(spec_ref + 1e-10) - np.log10(spec_low + 1e-10)) ** 2
    assert diff[:, 600:].mean() > 100 * diff[:, :400].mean()


def test_keras_metrics_agree_with_numpy(rng):
    y = rng.standard_normal((3, 4096, 1)).astype("float32")
    y_hat = (y + 0.2 * rng.standard_normal(y.shape)).astype("float32")
    snr = keras.ops.convert_to_numpy(metrics.snr_per_example(y, y_hat))
    lsd = keras.ops.convert_to_numpy(metrics.lsd_per_example(y, y_hat))
    for i in range(3):
        assert snr[i] == pytest.approx(metrics.snr(y[i], y_hat[i]), abs=1e-3)
        assert lsd[i] == pytest.approx(metrics.lsd(y[i], y_hat[i]), rel=1e-3)
