"""audiosr upsample decides per file from its band, and audiosr.upsample gives the same samples for arrays.

The shipped speech models are used throughout, on a speaker they never
trained on (tests/corpus/speech/held-out/).
"""

import numpy as np
import pytest
import soundfile
import soxr

import audiosr
from audiosr import cli, lowres, metrics

HELD_OUT = "speech/held-out/163-121908-0000.flac"


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert status == 0, err
    return err


@pytest.fixture(scope="module")
def speech(test_corpus):
    audio, rate = soundfile.read(test_corpus / HELD_OUT, dtype="float32")
    assert rate == 16000
    return audio


def band_limited(speech, ratio, method, rate=16000):
    """``speech`` as a file made at 16000 / ratio Hz by ``method`` and resampled up to ``rate`` would hold it."""
    return soxr.resample(lowres.lowrate(speech, ratio, method), 16000 // ratio, rate)


def test_a_full_band_recording_comes_back_unchanged(capsys, tmp_path, speech):
    soundfile.write(tmp_path / "wide.flac", speech, 16000, subtype="PCM_16")
    err = run(capsys, "upsample", tmp_path / "wide.flac", "-o", tmp_path / "out", "-q")
    assert "wide.flac: content up to 8 kHz (estimated; 16000 Hz file): already reaches the 8 kHz band the models " \
           "output, so it is passed through unchanged" in err
    original = soundfile.read(tmp_path / "wide.flac", dtype="int16")
    copy = soundfile.read(tmp_path / "out" / "wide.wav", dtype="int16")
    assert copy[1] == 16000 and np.array_equal(copy[0], original[0])  # bit for bit
    forced = run(capsys, "upsample", tmp_path / "wide.flac", "-o", tmp_path / "forced", "-q", "--input-band", "4000")
    assert "wide.flac: content up to 4 kHz (given; 16000 Hz file): treated as 8000 Hz audio (resampled from " \
           "16000 Hz), upsampled with speech-r2 to 16000 Hz" in forced
    assert not np.array_equal(soundfile.read(tmp_path / "forced" / "wide.wav", dtype="int16")[0], original[0])


def test_a_16_khz_file_band_limited_at_4_khz_is_treated_as_8_khz_audio_and_comes_back_better_than_spline(
        capsys, tmp_path, speech):
    narrow = band_limited(speech, 2, "soxr")  # an 8 kHz soxr file saved again at 16 kHz
    soundfile.write(tmp_path / "narrow.wav", narrow, 16000, subtype="FLOAT")
    err = run(capsys, "upsample", tmp_path / "narrow.wav", "-o", tmp_path / "out", "-q", "--bit-depth", "float")
    assert "narrow.wav: content up to 3.8" in err and "kHz (estimated; 16000 Hz file): treated as 8000 Hz audio " \
           "(resampled from 16000 Hz), upsampled with speech-r2 to 16000 Hz" in err
    assert "does not fit" not in err  # the safety net keeps the model's output
    out, rate = soundfile.read(tmp_path / "out" / "narrow.wav", dtype="float32")
    spline = lowres.model_input(soxr.resample(narrow, 16000, 8000), 2, out.shape[0])
    assert rate == 16000 and out.shape == speech.shape
    assert metrics.snr(speech, out) > metrics.snr(speech, spline) + 0.1
    # against the file as given (soxr's own sinc interpolation): the same waveform error, a far closer spectrum
    assert metrics.snr(speech, out) > metrics.snr(speech, narrow) - 0.1
    assert metrics.lsd(speech, out) < 0.6 * metrics.lsd(speech, narrow)


@pytest.mark.parametrize("channels", [1, 2])
def test_the_array_api_equals_the_command_float_output(capsys, tmp_path, speech, channels):
    audio = band_limited(speech, 2, "decimate")
    if channels == 2:
        audio = np.stack([audio, 0.5 * band_limited(speech[::-1].copy(), 4, "decimate")], axis=1)
    soundfile.write(tmp_path / "in.wav", audio, 16000, subtype="FLOAT")
    err = run(capsys, "upsample", tmp_path / "in.wav", "-o", tmp_path / "out", "-q", "--bit-depth", "float")
    assert "upsampled with speech-r2" in err and "does not fit" not in err
    expected, _ = soundfile.read(tmp_path / "out" / "in.wav", dtype="float32")
    result, rate = audiosr.upsample(audio, 16000)
    assert rate == 16000 and result.shape == expected.shape == audio.shape
    np.testing.assert_allclose(result, expected, atol=1e-4)
    first, source = (result, audio) if channels == 1 else (result[:, 0], audio[:, 0])
    spline = lowres.model_input(soxr.resample(source, 16000, 8000), 2, source.shape[0])
    assert np.max(np.abs(first - spline)) > 1e-3  # the network ran
    passed, rate = audiosr.upsample(speech, 16000)  # full band: the array comes back as it was
    assert rate == 16000 and np.array_equal(passed, speech)


def test_near_full_scale_input_is_limited_not_clipped(capsys, tmp_path, shared_data):
    loud, _ = soundfile.read(shared_data / "speech/librispeech/1963-142393-0000.flac", dtype="float32")
    low = lowres.lowrate(loud, 2, "decimate")
    peak = int(np.argmax(np.abs(low)))
    low = low[max(0, peak - 12000):peak + 12000]  # 3 s at 8 kHz around its loudest sample
    soundfile.write(tmp_path / "loud.wav", low, 8000, subtype="FLOAT")
    err = run(capsys, "upsample", tmp_path / "loud.wav", "-o", tmp_path / "out", "-q")
    assert "samples past full scale" in err and "look-ahead limiter, not clipped" in err
    out, _ = soundfile.read(tmp_path / "out" / "loud.wav", dtype="int16")
    at_full_scale = np.abs(out.astype(np.int32)) >= 32767
    assert not np.any(at_full_scale[1:] & at_full_scale[:-1])  # no flat-topped runs: nothing was cut off
    floating, _ = audiosr.upsample(low, 8000)
    assert np.abs(floating).max() > 1.0  # the float path keeps the peaks


def test_a_lossy_full_band_file_passes_through_as_pcm(capsys, tmp_path, test_corpus):
    audio, rate = soundfile.read(test_corpus / "speech/vctk/p257_166.flac", dtype="float32")
    soundfile.write(tmp_path / "talk.mp3", audio, rate)
    err = run(capsys, "upsample", tmp_path / "talk.mp3", "-o", tmp_path / "out", "-q")
    assert "talk.mp3: content up to" in err and "passed through unchanged" in err
    copy = soundfile.info(tmp_path / "out" / "talk.wav")
    assert (copy.samplerate, copy.subtype) == (48000, "PCM_16")  # the codec's "subtype" is not a sample format
