"""The fast generator (preset "fast"): shapes, known band, serialization, chunked inference, training."""

import keras
import numpy as np
import pytest
from scipy import signal

from audiosr import inference
from audiosr.audio_io import load_audio
from audiosr.data.synthetic import generate_clips
from audiosr.lowres import simulate_lowres
from audiosr.models import build_fast_generator, build_model, length_multiple, losses
from audiosr.models.layers import KnownBand, PhaseSplit1D, SubPixel1D
from audiosr.train.distribute import set_precision

SPEECH = "speech/librispeech/1502-122615-0000.flac"  # 16 kHz, 6 s


@pytest.fixture(scope="module")
def speech(test_corpus):
    return load_audio(test_corpus / SPEECH, target_rate=16000)[0]


def busy(model, seed=0):
    """An untrained model whose network output is not negligible (its final layer starts near zero)."""
    final = model.generator.get_layer("final_conv")
    rng = np.random.default_rng(seed)
    final.set_weights([rng.normal(0, 0.05, w.shape).astype("float32") for w in final.get_weights()])
    return model


def silent(generator):
    """``generator`` with its last layer zeroed: what is left is the spline input and its known band."""
    final = generator.get_layer("final_conv")
    final.set_weights([np.zeros_like(w) for w in final.get_weights()])
    return generator


@pytest.fixture(scope="module")
def spline_input():
    return simulate_lowres(generate_clips(1, 4096, seed=5)[0], 2)[None, :, None]


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_residual_sum_and_known_band_are_float32_under_mixed_precision(spline_input, policy):
    """The spline input reaches the output unrounded whatever the policy (as AudioUNet's residual does)."""
    keras.utils.set_random_seed(0)
    reference = silent(build_fast_generator(2))
    try:
        set_precision(policy)
        mixed = build_fast_generator(2)
    finally:
        set_precision("float32")
    mixed.set_weights(reference.get_weights())
    out = mixed(spline_input)
    np.testing.assert_allclose(np.asarray(out, np.float32), np.asarray(reference(spline_input)), rtol=0, atol=1e-6)
    assert out.dtype == "float32"


def test_bfloat16_inference_keeps_the_spline_path_float32(spline_input):
    """inference's bfloat16 copy computes the network in bfloat16 but not the sums with the input."""
    model = build_model("unet", 2, preset="fast")
    silent(model.generator)
    exact = inference.make_predictor(model)(spline_input)
    np.testing.assert_allclose(inference.make_predictor(model, "bfloat16")(spline_input), exact, rtol=0, atol=1e-6)


def test_phase_split_inverts_subpixel():
    x = np.arange(2 * 24 * 3, dtype="float32").reshape(2, 24, 3)
    split = PhaseSplit1D(4)(x)
    assert tuple(split.shape) == (2, 6, 12)
    np.testing.assert_array_equal(np.asarray(split)[0, 1, :3], x[0, 4])  # phase 0 of step 1 is sample 4
    np.testing.assert_array_equal(SubPixel1D(4)(split), x)


@pytest.mark.parametrize("ratio", [2, 4])
def test_shapes_and_length_multiple(ratio):
    generator = build_fast_generator(ratio)
    multiple = length_multiple(generator)
    assert multiple == ratio * 8  # phase split, then three stride-2 levels
    for length in (multiple * 5, 8192):
        assert tuple(generator(np.zeros((3, length, 1), "float32")).shape) == (3, length, 1)
    model = build_model("unet", ratio, preset="fast")
    assert model.length_multiple == multiple
    with pytest.raises(ValueError, match="multiple"):
        build_model("unet", ratio, preset="fast", input_length=multiple * 5 + ratio)


@pytest.mark.parametrize("ratio", [2, 4])
def test_known_band_restores_the_band_below_the_cutoff(speech, ratio):
    """Whatever the residual holds, the output's low band is the recording's own."""
    y = speech[: 16000 * 2]
    x = simulate_lowres(y, ratio)
    noise = np.random.default_rng(0).normal(0, 0.1, y.shape).astype("float32")
    out = np.asarray(KnownBand(ratio)([noise[None, :, None], x[None, :, None]]))[0, :, 0] + x
    low = signal.butter(8, 0.5 / ratio, output="sos")  # well inside the band the decimation keeps

    def band_snr(estimate):
        reference = signal.sosfiltfilt(low, y)[1000:-1000]
        error = signal.sosfiltfilt(low, estimate)[1000:-1000] - reference
        return 10 * np.log10(np.sum(reference ** 2) / np.sum(error ** 2))

    assert band_snr(out) > 40
    assert band_snr(x + noise) < 20  # without the layer the noise stays: the check can fail


def test_serialization_round_trip(tmp_path):
    model = busy(build_model("unet", 4, preset="fast", stft_weight=0.5))
    path = tmp_path / "fast.keras"
    model.save(path)
    loaded = inference.load_model(path)
    x = np.random.default_rng(1).normal(0, 0.1, (2, 1024, 1)).astype("float32")
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
    assert (loaded.ratio, loaded.length_multiple, loaded.stft_weight) == (4, 32, 0.5)


@pytest.mark.parametrize("ratio", [2, 4])
def test_chunked_inference_equals_one_pass(speech, ratio):
    model = busy(build_model("unet", ratio, preset="fast"))
    x = simulate_lowres(speech[: 16000 * 3], ratio)
    pad = -x.shape[0] % model.length_multiple
    whole = inference.make_predictor(model)(np.pad(x, (0, pad))[None, :, None])[0, : x.shape[0], 0]
    chunked = inference.enhance(model, x, chunk_samples=8192, overlap_samples=2048, batch_size=3)
    edge, scale = 2048, np.max(np.abs(whole))
    assert np.max(np.abs(chunked - whole)[edge:-edge]) < 1e-5 * scale
    disjoint = np.concatenate([inference.make_predictor(model)(x[None, i:i + 8192, None])[0, :, 0]
                               for i in range(0, x.shape[0] - 8192 + 1, 8192)])
    n = disjoint.shape[0]
    assert np.max(np.abs(disjoint - whole[:n])[edge:n - edge]) > 1e-3 * scale  # seams show: the test can fail


def test_stft_loss_is_zero_only_for_equal_signals():
    rng = np.random.default_rng(2)
    y = rng.normal(0, 0.1, (2, 4096, 1)).astype("float32")
    assert float(losses.multi_resolution_stft_loss(y, y)) < 1e-6
    assert float(losses.multi_resolution_stft_loss(y, 0.5 * y)) > 0.3


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["unet", "wgan"])
def test_fast_preset_trains(kind):
    rng = np.random.default_rng(3)
    y = rng.normal(0, 0.1, (4, 2048, 1)).astype("float32")
    x = np.stack([simulate_lowres(clip[:, 0], 2)[:, None] for clip in y])
    model = build_model(kind, 2, preset="fast", input_length=2048, stft_weight=0.1, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **({} if kind == "unet" else {"d_optimizer": "adam"}))
    before = [w.copy() for w in model.generator.get_weights()]
    logs = model.fit(x, y, batch_size=2, epochs=1, verbose=0).history
    assert np.isfinite(logs["loss"][0]) and logs["stft"][0] > 0
    assert any(np.any(a != b) for a, b in zip(before, model.generator.get_weights()))
