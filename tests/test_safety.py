"""The safety net's verdict on real speech and on outputs that do not fit their input; the peak limiter."""

import numpy as np
import pytest
import soundfile

from audiosr import limiter, lowres, safety


@pytest.fixture(scope="module")
def speech(test_corpus):
    audio, _ = soundfile.read(test_corpus / "speech/librispeech/1502-122615-0000.flac", dtype="float32")
    return audio[:16000 * 5]


@pytest.mark.parametrize("method, ratio", [("soxr", 2), ("decimate", 2), ("polyphase", 4)])
def test_real_speech_fits_its_own_band_limited_input(speech, method, ratio):
    spline = lowres.simulate_lowres(speech, ratio, method)
    band = 0.95 * 8000 / ratio
    net = safety.score(spline, speech, 16000, band)
    assert not net.implausible and net.flagged_share < 0.3 and abs(net.median_in_band_db) < 3


def test_an_output_that_boosts_the_band_the_input_carries_is_implausible(speech):
    spline = lowres.simulate_lowres(speech, 2, "soxr")
    spectrum = np.fft.rfft(speech)
    freqs = np.fft.rfftfreq(speech.shape[0], 1 / 16000)
    whistle = np.fft.irfft(spectrum * np.where((freqs > 3000) & (freqs < 4000), 30.0, 1.0), n=speech.shape[0])
    net = safety.score(spline, whistle, 16000, 3800)
    assert net.implausible and net.median_in_band_db > 15


def test_streamed_blocks_score_as_the_whole(speech):
    spline = lowres.simulate_lowres(speech, 2, "soxr")
    noisy = speech + 0.05 * np.random.default_rng(0).standard_normal(speech.shape[0]).astype(np.float32)
    whole = safety.score(spline, noisy, 16000, 3800)
    net = safety.SafetyNet(16000, 2, 3800)
    pairs = np.stack([spline, spline]), np.stack([noisy, noisy])
    for start, stop in ((0, 3), (3, 9000), (9000, 9001), (9001, speech.shape[0])):
        net.push(pairs[0][:, start:stop], pairs[1][:, start:stop])
    net.finish()
    assert (net.frames, net.flagged, net.median_in_band_db) == (whole.frames, whole.flagged, whole.median_in_band_db)
    assert whole.flagged > 0


def test_the_limiter_keeps_peaks_inside_full_scale_and_leaves_the_rest_alone(rng):
    x = (0.2 * rng.standard_normal((2, 20000))).astype(np.float32)
    x[0, 5000], x[1, 12000] = 1.5, -1.3
    whole = limiter.PeakLimiter(16000, 2)
    out = np.concatenate([whole.push(x), whole.push(x[:, :0], last=True)], axis=1)
    streamed = limiter.PeakLimiter(16000, 2)
    pieces = [streamed.push(x[:, a:b]) for a, b in ((0, 7), (7, 3000), (3000, 3001), (3001, 20000))]
    assert np.array_equal(np.concatenate(pieces + [streamed.push(x[:, :0], last=True)], axis=1), out)
    assert out.shape == x.shape and np.abs(out).max() <= 1.0 and (whole.over, whole.peak) == (2, 1.5)
    reach = 2 * whole.half
    changed = np.nonzero(np.any(out != x, axis=0))[0]
    assert set(changed) <= set(range(5000 - reach, 5001 + reach)) | set(range(12000 - reach, 12001 + reach))
    assert np.all(np.abs(np.diff(out[0, 4900:5100] / x[0, 4900:5100])) < 0.1)  # a smooth gain, not a cut
