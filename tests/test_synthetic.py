import numpy as np

from audiosr.data import synthetic


def test_clips_are_reproducible_and_normalised():
    a = synthetic.generate_clips(4, 8000, seed=3)
    b = synthetic.generate_clips(4, 8000, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == (4, 8000)
    assert np.allclose(np.abs(a).max(axis=1), 0.9, atol=1e-4)
    assert not np.array_equal(a[0], synthetic.generate_clips(1, 8000, seed=4)[0])


def test_clips_have_a_real_upper_band():
    """Speech-like clips carry energy above 4 kHz (what r=2 must restore), none at Nyquist."""
    rng = np.random.default_rng(0)
    clip = synthetic.speech_like(rng, 16000)
    spectrum = np.abs(np.fft.rfft(clip)) ** 2
    freqs = np.fft.rfftfreq(16000, 1 / 16000)
    total = spectrum.sum()
    assert spectrum[(freqs > 4000) & (freqs < 7800)].sum() > 1e-3 * total
    assert spectrum[freqs > 7850].sum() < 1e-4 * total  # only envelope leakage, 40 dB down
