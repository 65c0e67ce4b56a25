import numpy as np
import pytest
from scipy import signal

from audiosr import baselines, lowres, metrics


def tone(freq, n=8000, rate=16000):
    return np.sin(2 * np.pi * freq * np.arange(n) / rate).astype("float32")


@pytest.mark.parametrize("name", ["spline", "sinc"])
@pytest.mark.parametrize("ratio", [2, 4])
def test_baselines_recover_a_slow_tone(name, ratio):
    y = tone(300.0)
    x_lr = y[::ratio]
    y_hat = baselines.BASELINES[name](x_lr, ratio, length=len(y))
    assert y_hat.shape == y.shape
    inner = slice(200, -200)
    assert metrics.snr(y[inner], y_hat[inner]) > 40.0


def test_spline_passes_through_the_low_rate_samples(rng):
    x_lr = rng.standard_normal(100)
    y_hat = baselines.spline_upsample(x_lr, 4)
    np.testing.assert_allclose(y_hat[::4], x_lr, atol=1e-5)


def test_baseline_rejects_bad_arguments():
    with pytest.raises(ValueError, match="positive integer"):
        baselines.spline_upsample(np.zeros(10), 1.5)
    with pytest.raises(ValueError, match="at least 4"):
        baselines.sinc_upsample(np.zeros(2), 2)


@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_decimate_is_scipys_decimate(rng, ratio):
    y = rng.standard_normal(4001)
    expected = signal.decimate(y, ratio, n=8, ftype="iir", zero_phase=True)
    np.testing.assert_allclose(lowres.decimate(y, ratio), expected, rtol=1e-5, atol=1e-6)


def band_energy(x, low, high, rate=16000):
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    return spectrum[(freqs >= low) & (freqs < high)].mean()


@pytest.mark.parametrize("ratio", [2, 4])
def test_decimation_removes_what_would_alias(ratio):
    # A tone between the low Nyquist and the high Nyquist must not fold back.
    low_nyquist = 8000 / ratio
    y = tone(1.3 * low_nyquist, n=16000)
    kept = lowres.decimate(y, ratio)
    assert np.sum(kept[50:-50] ** 2) < 1e-6 * np.sum(y[::ratio][50:-50] ** 2)


@pytest.mark.parametrize("ratio", [2, 4])
def test_lowres_input_has_only_spline_images_above_low_nyquist(rng, ratio):
    y = rng.standard_normal(16000).astype("float32")
    x = lowres.simulate_lowres(y, ratio)
    assert x.shape == y.shape and x.dtype == np.float32
    low_nyquist = 8000 / ratio
    # White noise in: the cubic spline's images stay > 20 dB below the kept band (24 dB at r=2).
    assert band_energy(x, 1.1 * low_nyquist, 8000) < 10 ** -2.0 * band_energy(x, 0, 0.8 * low_nyquist)


def test_lowres_keeps_the_low_band(rng):
    y = tone(500.0, n=16000)
    x = lowres.simulate_lowres(y, 4)
    assert metrics.snr(y[500:-500], x[500:-500]) > 30.0
