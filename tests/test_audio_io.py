import os

import numpy as np
import pytest
import soundfile

from audiosr import audio_io


def test_reads_real_stereo_as_mono_at_target_rate(test_corpus):
    path = test_corpus / "music" / "loop_breakbeat.flac"  # 44.1 kHz stereo
    audio, rate = audio_io.load_audio(path, target_rate=16000)
    assert rate == 16000 and audio.ndim == 1
    assert abs(audio.shape[0] / 16000 - soundfile.info(path).duration) < 0.01
    stereo, rate = audio_io.load_audio(path, mono=False)
    assert stereo.shape[0] == 2 and rate == 44100


def test_reads_ogg_vorbis(test_corpus):
    path = test_corpus / "music" / "loop_amen_full.ogg"  # 44.1 kHz stereo Vorbis, 6.9 s
    audio, rate = audio_io.load_audio(path, target_rate=16000)
    assert rate == 16000 and audio.shape[0] > 6 * 16000 and np.all(np.isfinite(audio))
    assert abs(audio.shape[0] / 16000 - soundfile.info(path).duration) < 0.01


@pytest.mark.parametrize(
    "content,reason",
    [(b"", "empty file"), (b"this is not audio at all" * 40, "not readable as audio")],
)
def test_bad_files_raise_with_the_file_name(tmp_path, content, reason):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(audio_io.AudioFileError, match=reason) as info:
        audio_io.load_audio(path)
    assert str(path) in str(info.value)


def test_nan_and_short_and_missing_files(tmp_path):
    nan_path = tmp_path / "nan.wav"
    soundfile.write(nan_path, np.array([0.1, np.nan, 0.2] * 100, dtype="float32"), 16000, subtype="FLOAT")
    with pytest.raises(audio_io.AudioFileError, match="NaN"):
        audio_io.load_audio(nan_path)
    short = tmp_path / "short.wav"
    soundfile.write(short, np.zeros(10, "float32"), 16000)
    with pytest.raises(audio_io.AudioFileError, match="too short"):
        audio_io.load_audio(short, min_samples=100)
    with pytest.raises(audio_io.AudioFileError, match="no such file"):
        audio_io.load_audio(tmp_path / "missing.wav")


def test_atomic_write_never_replaces_a_good_file_with_a_broken_one(tmp_path):
    path = tmp_path / "out.flac"
    good = np.sin(np.arange(8000) / 10).astype("float32") * 0.5
    audio_io.write_audio_atomic(path, good, 16000)
    with pytest.raises(ValueError, match="subtype"):
        audio_io.write_audio_atomic(path, good, 16000, subtype="NOT_A_SUBTYPE")
    back, rate = soundfile.read(path, dtype="float32")
    assert rate == 16000 and np.allclose(back, good, atol=1e-4)
    assert os.listdir(tmp_path) == ["out.flac"]  # no temporary file left behind


def test_atomic_write_keeps_channel_layout(tmp_path):
    stereo = np.stack([np.zeros(100), np.ones(100) * 0.5]).astype("float32")
    audio_io.write_audio_atomic(tmp_path / "s.wav", stereo, 8000, subtype="FLOAT")
    back, _ = soundfile.read(tmp_path / "s.wav", dtype="float32", always_2d=True)
    np.testing.assert_array_equal(back.T, stereo)
