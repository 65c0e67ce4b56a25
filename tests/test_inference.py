import os
import tracemalloc

import keras
import numpy as np
import pytest
import soundfile

from audiosr import inference
from audiosr.audio_io import AudioFileError, load_audio, resample
from audiosr.baselines import spline_upsample
from audiosr.lowres import simulate_lowres
from audiosr.metrics import snr
from audiosr.models import build_model

SPEECH = "speech/librispeech/1502-122615-0000.flac"  # 16 kHz, 6 s


@pytest.fixture(scope="module")
def models():
    import keras

    keras.utils.set_random_seed(7)
    return {preset: build_model("unet", 2, preset=preset) for preset in ("tiny", "cpu")}


@pytest.fixture(scope="module")
def tiny(models):
    return models["tiny"]


@pytest.fixture(scope="module")
def speech(test_corpus):
    return load_audio(test_corpus / SPEECH, target_rate=16000)[0]


def one_pass(model, x):
    """The model over the whole signal in a single call: the seam-free reference."""
    pad = -x.shape[0] % model.length_multiple
    return inference.make_predictor(model)(np.pad(x, (0, pad))[None, :, None])[0, : x.shape[0], 0]


def quiet_output_path(path):
    return [p for p in os.listdir(path) if p.startswith(".partial-")]


@pytest.mark.parametrize("preset", ["tiny", "cpu"])
def test_chunked_output_has_no_seams(models, speech, preset):
    model = models[preset]
    x = simulate_lowres(speech[: 16000 * 6], 2)
    whole = one_pass(model, x)
    chunked = inference.enhance(model, x, chunk_samples=8192, overlap_samples=2048, batch_size=3)
    assert chunked.dtype == np.float32 and chunked.shape == x.shape
    edge = 2048
    scale = np.max(np.abs(whole))
    assert np.max(np.abs(chunked - whole)[edge:-edge]) < 1e-5 * scale
    # Disjoint chunks of the same size would show seams: the test can fail.
    disjoint = np.concatenate([one_pass(model, x[i:i + 8192]) for i in range(0, x.shape[0], 8192)])
    assert np.max(np.abs(disjoint - whole)[edge:-edge]) > 1e-3 * scale


@pytest.mark.parametrize("length", [1, 31, 33, 4097, 20001])
def test_any_length_comes_back_with_its_length(tiny, rng, length):
    x = rng.standard_normal(length).astype(np.float32) * 0.1
    y = inference.enhance(tiny, x, chunk_samples=1024, overlap_samples=256)
    assert y.shape == (length,) and np.all(np.isfinite(y))
    np.testing.assert_allclose(y, one_pass(tiny, x), atol=1e-5)


def test_streaming_blocks_of_any_size_equal_the_whole_array(tiny, rng):
    x = rng.standard_normal((2, 30000)).astype(np.float32) * 0.1
    enhancer = inference.ChunkedEnhancer(inference.make_predictor(tiny), tiny.length_multiple, channels=2,
                                         chunk_samples=2048, overlap_samples=512, batch_size=3)
    parts, start = [], 0
    while start < x.shape[1]:
        size = int(rng.integers(1, 5000))
        parts.append(enhancer.push(x[:, start:start + size]))
        start += size
    parts.append(enhancer.finish())
    streamed = np.concatenate(parts, axis=1)
    assert streamed.shape == x.shape
    for channel in range(2):
        expected = inference.enhance(tiny, x[channel], chunk_samples=2048, overlap_samples=512)
        np.testing.assert_allclose(streamed[channel], expected, atol=1e-6)


def test_chunk_must_exceed_twice_the_overlap(tiny):
    with pytest.raises(ValueError, match="chunk_samples > 2"):
        inference.enhance(tiny, np.zeros(100, np.float32), chunk_samples=1024, overlap_samples=512)


@pytest.mark.parametrize("ratio", [2, 3, 4])
def test_streaming_spline_matches_the_whole_signal_spline(rng, ratio):
    x = rng.standard_normal(5003).astype(np.float32)
    spline = inference.StreamingSpline(ratio, channels=1)
    parts = [spline.push(x[None, i:i + 317]) for i in range(0, x.shape[0], 317)]
    parts.append(spline.push(np.zeros((1, 0), np.float32), last=True))
    streamed = np.concatenate(parts, axis=1)[0]
    np.testing.assert_allclose(streamed, spline_upsample(x, ratio), atol=1e-6)


def test_bfloat16_stays_close_to_float32(models, speech):
    model = models["cpu"]
    x = simulate_lowres(speech[: 16000 * 3], 2)
    exact = inference.enhance(model, x)
    fast = inference.enhance(model, x, precision="bfloat16")
    assert snr(exact, fast) > 60.0
    # The network's residual carries bfloat16's 8-bit mantissa (~48 dB): really computed in bfloat16.
    assert 35.0 < snr(exact - x, fast - x) < 65.0


def test_bfloat16_copy_finds_the_residual_sum_by_the_graph_not_by_name():
    """Any layer that adds the network's output to its input stays float32, whatever it is called."""
    inputs = keras.Input((None, 1))
    body = keras.layers.Conv1D(1, 3, padding="same", kernel_initializer="zeros", name="body")(inputs)
    network = keras.Model(inputs, keras.layers.Add(name="skip")([body, inputs]))
    x = np.random.default_rng(4).normal(0, 0.3, (1, 999, 1)).astype(np.float32)
    np.testing.assert_array_equal(inference.make_predictor(network, "bfloat16")(x), x)


def test_file_pipeline_equals_in_memory_enhancement(tiny, speech, tmp_path):
    low = resample(speech[: 16000 * 5], 16000, 8000)
    source = tmp_path / "low.wav"
    soundfile.write(source, low, 8000, subtype="FLOAT")
    info = inference.upsample_file(tiny, source, tmp_path / "out.wav", subtype="FLOAT", chunk_samples=4096,
                                   overlap_samples=1024, batch_size=2)
    out, rate = soundfile.read(tmp_path / "out.wav", dtype="float32")
    expected = inference.enhance(tiny, spline_upsample(low, 2), chunk_samples=4096, overlap_samples=1024)
    assert rate == 16000 and not info["resampled"] and info["limited"] == 0
    assert out.shape == expected.shape == (2 * low.shape[0],)
    np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize(
    "relative,channels,rate",
    [
        ("speech/librispeech/1926-143879-0000.flac", 1, 16000),
        ("speech/tts/libritts_24k.flac", 1, 24000),
        ("speech/tts/hifitts_44k.flac", 1, 44100),
        ("speech/vctk/p257_166.flac", 1, 48000),
        ("music/loop_breakbeat.flac", 2, 44100),
    ],
)
def test_real_recordings_at_any_rate_come_out_at_16_khz(tiny, test_corpus, tmp_path, relative, channels, rate):
    source = test_corpus / relative
    out_path = tmp_path / "out.flac"
    info = inference.upsample_file(tiny, source, out_path, subtype="PCM_24", format="FLAC")
    out = soundfile.info(out_path)
    assert (info["input_rate"], info["channels"], info["resampled"]) == (rate, channels, rate != 8000)
    assert out.samplerate == 16000 and out.channels == channels and out.subtype == "PCM_24"
    assert abs(out.duration - soundfile.info(source).duration) < 0.01


def test_stereo_channels_are_processed_separately_and_keep_their_place(tiny, speech, tmp_path):
    left, right = speech[:16000 * 2], speech[16000 * 4:16000 * 6] * 0.5
    soundfile.write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    inference.upsample_file(tiny, tmp_path / "stereo.wav", tmp_path / "out.wav", subtype="FLOAT")
    stereo, _ = soundfile.read(tmp_path / "out.wav", dtype="float32")
    for index, channel in enumerate([left, right]):
        soundfile.write(tmp_path / f"mono{index}.wav", channel, 16000, subtype="FLOAT")
        inference.upsample_file(tiny, tmp_path / f"mono{index}.wav", tmp_path / f"out{index}.wav", subtype="FLOAT")
        mono, _ = soundfile.read(tmp_path / f"out{index}.wav", dtype="float32")
        np.testing.assert_allclose(stereo[:, index], mono, atol=1e-6)
    assert snr(stereo[:, 1], stereo[:, 0]) < 0.0  # the channels really differ


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_reads_and_writes_common_formats(tiny, speech, tmp_path, fmt, subtype):
    source = tmp_path / f"in.{fmt.lower()}"
    soundfile.write(source, resample(speech[:16000 * 2], 16000, 22050), 22050, format=fmt, subtype=subtype)
    target = tmp_path / f"out.{fmt.lower()}"
    info = inference.upsample_file(tiny, source, target, subtype=subtype, format=fmt)
    back, rate = load_audio(target)
    assert info["input_rate"] == 22050 and rate == 16000
    assert abs(back.shape[0] / 16000 - 2.0) < 0.1  # lossy codecs pad a little
    assert np.sqrt(np.mean(back ** 2)) > 0.01


def test_ratio_three_resamples_to_a_fractional_input_rate(speech, tmp_path):
    model = build_model("unet", 3, preset="tiny")
    soundfile.write(tmp_path / "in.wav", speech[:16000], 16000, subtype="FLOAT")
    info = inference.upsample_file(model, tmp_path / "in.wav", tmp_path / "out.wav")
    assert info["model_input_rate"] == pytest.approx(16000 / 3)
    assert abs(soundfile.info(tmp_path / "out.wav").frames - 16000) <= 3


def _upsample_peak_bytes(model, source, target):
    tracemalloc.start()
    try:
        inference.upsample_file(model, source, target, subtype="FLOAT")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_five_minute_recording_streams_in_constant_memory(tiny, speech, tmp_path):
    low = resample(speech, 16000, 8000)
    minutes = {}
    for seconds in (30, 300):
        path = tmp_path / f"long{seconds}.flac"
        soundfile.write(path, np.resize(low, 8000 * seconds), 8000, subtype="PCM_24")
        minutes[seconds] = path
    peak_short = _upsample_peak_bytes(tiny, minutes[30], tmp_path / "out30.wav")
    peak_long = _upsample_peak_bytes(tiny, minutes[300], tmp_path / "out300.wav")
    out, rate = soundfile.read(tmp_path / "out300.wav", dtype="float32")
    assert rate == 16000 and out.shape == (300 * 16000,) and np.all(np.isfinite(out))
    assert peak_long < 1.25 * peak_short  # memory does not grow with length
    assert peak_long < out.nbytes / 2  # never holds the whole signal
    # Streamed (blocks, resampling-free spline, chunks) equals the in-memory computation.
    source, _ = soundfile.read(minutes[300], dtype="float32")
    expected = inference.enhance(tiny, spline_upsample(source, 2))
    middle = slice(16000 * 100, 16000 * 110)
    np.testing.assert_allclose(out[middle], expected[middle], atol=1e-5)


def _write_bad(tmp_path, kind):
    path = tmp_path / f"{kind}.wav"
    if kind == "not_audio":
        path.write_text("these are words, not sound\n" * 40)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "no_samples":
        soundfile.write(path, np.zeros(0, np.float32), 8000)
    elif kind == "too_short":
        soundfile.write(path, np.zeros(10, np.float32), 8000)
    elif kind == "nan_late":
        samples = np.full(8000 * 9, 0.1, np.float32)
        samples[8000 * 8] = np.nan  # found only after several blocks were written
        soundfile.write(path, samples, 8000, subtype="FLOAT")
    elif kind == "infinite":
        soundfile.write(path, np.array([0.1, np.inf] * 500, np.float32), 8000, subtype="FLOAT")
    return path


@pytest.mark.parametrize(
    "kind,reason",
    [
        ("not_audio", "not readable as audio"),
        ("empty", "empty file"),
        ("no_samples", "no audio samples"),
        ("too_short", "too short"),
        ("nan_late", "NaN or infinite"),
        ("infinite", "NaN or infinite"),
        ("missing", "no such file"),
    ],
)
def test_bad_input_names_the_file_and_leaves_no_output(tiny, tmp_path, kind, reason):
    path = _write_bad(tmp_path, kind)
    out_dir = tmp_path / "out"
    with pytest.raises(AudioFileError, match=reason) as info:
        inference.upsample_file(tiny, path, out_dir / "x.wav", chunk_samples=4096, overlap_samples=1024)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert not (out_dir / "x.wav").exists()
    assert not out_dir.exists() or not quiet_output_path(out_dir)


def test_never_overwrites_unless_asked_and_never_the_input(tiny, speech, tmp_path):
    source = tmp_path / "in.wav"
    soundfile.write(source, speech[:8000], 8000)
    target = tmp_path / "out.wav"
    target.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="out.wav"):
        inference.upsample_file(tiny, source, target)
    assert target.read_bytes() == b"precious"
    inference.upsample_file(tiny, source, target, overwrite=True)
    assert soundfile.info(target).samplerate == 16000
    before = source.read_bytes()
    with pytest.raises(ValueError, match="overwrite its input"):
        inference.upsample_file(tiny, source, source, overwrite=True)
    assert source.read_bytes() == before


def test_load_model_reads_ratio_and_rates_and_rejects_other_files(tiny, tmp_path):
    import keras

    tiny.save(tmp_path / "tiny.keras")
    loaded = inference.load_model(tmp_path / "tiny.keras")
    assert (loaded.ratio, loaded.sample_rate, loaded.length_multiple) == (2, 16000, 8)
    x = np.linspace(-0.5, 0.5, 1000, dtype=np.float32)
    np.testing.assert_allclose(inference.enhance(loaded, x), inference.enhance(tiny, x), atol=1e-6)
    junk = tmp_path / "junk.keras"
    junk.write_text("not a model")
    with pytest.raises(ValueError, match="junk.keras"):
        inference.load_model(junk)
    plain = keras.Sequential([keras.Input((None, 1)), keras.layers.Identity()])
    plain.save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match="not an audiosr model"):
        inference.load_model(tmp_path / "plain.keras")
