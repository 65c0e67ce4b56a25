"""The effective-band estimate on real recordings, copies of them band-limited, and what is not an edge."""

import numpy as np
import pytest
import soundfile
import soxr

from audiosr import bandwidth, lowres

SPEECH_16K = "speech/librispeech/1926-143879-0000.flac"


@pytest.fixture(scope="module")
def speech(test_corpus):
    audio, rate = soundfile.read(test_corpus / "speech/librispeech/1502-122615-0000.flac", dtype="float32")
    assert rate == 16000
    return audio[:16000 * 6]


@pytest.mark.parametrize("relative", [SPEECH_16K, "speech/vctk/p257_166.flac", "speech/arctic/aew_a0001.flac",
                                      "music/loop_breakbeat.flac"])
def test_full_band_recordings_reach_their_nyquist(shared_data, relative):
    audio, rate = soundfile.read(shared_data / relative, dtype="float32", always_2d=True)
    estimate = bandwidth.estimate_band(audio, rate)
    assert estimate.band_hz >= 0.9 * rate / 2, estimate  # ARCTIC's own resampler stops at 0.93


@pytest.mark.parametrize("method", ["soxr", "decimate", "polyphase", "fft", "butter-causal", "telephone",
                                    "cheby2-zerophase"])
@pytest.mark.parametrize("ratio", [2, 4])
@pytest.mark.parametrize("rate", [16000, 44100])
def test_band_limited_copies_stop_near_the_low_nyquist(speech, method, ratio, rate):
    low_rate = 16000 // ratio
    up = soxr.resample(lowres.lowrate(speech, ratio, method), low_rate, rate)
    estimate = bandwidth.estimate_band(up, rate)
    assert estimate.limited and 0.6 < estimate.band_hz / (low_rate / 2) < 1.02, estimate


def test_a_dither_floor_above_the_edge_does_not_hide_it(speech):
    up = soxr.resample(lowres.lowrate(speech, 2, "soxr"), 8000, 16000)
    rng = np.random.default_rng(0)
    sixteen_bit = np.round(up * 32767 + rng.uniform(-0.5, 0.5, up.shape) + rng.uniform(-0.5, 0.5, up.shape)) / 32767
    padded = np.concatenate([np.zeros(16000 * 3), sixteen_bit, np.zeros(16000 * 3)])  # long silences around it
    assert 3700 < bandwidth.estimate_band(padded, 16000).band_hz < 4000


def test_streamed_blocks_give_the_whole_signal_estimate(speech):
    stereo = np.stack([speech, 0.3 * speech[::-1]], axis=1)
    whole = bandwidth.estimate_band(stereo, 16000)
    accumulator = bandwidth.SpectrumAccumulator(16000, channels=2)
    for start, stop in ((0, 7), (7, 5000), (5000, 5001), (5001, stereo.shape[0])):
        accumulator.push(stereo[start:stop].T)
    assert accumulator.estimate() == whole


def test_what_is_not_a_band_edge(rng, shared_data):
    assert bandwidth.estimate_band(np.zeros(16000), 16000).band_hz is None  # silence has no band
    dither = (rng.uniform(-0.5, 0.5, 16000) + rng.uniform(-0.5, 0.5, 16000)) / 32767
    assert not bandwidth.estimate_band(dither, 16000).limited
    # sparse partials: one vibraphone note; nothing dense stops near C6 (1047 Hz)
    note, rate = soundfile.read(shared_data / "music/sms-tools_vibraphone-C6.flac", dtype="float32")
    assert not bandwidth.estimate_band(note, rate).limited
    assert bandwidth.estimate_band(rng.standard_normal(100), 16000).band_hz > 0  # shorter than one frame
