"""Content-loss networks: VGGish through tensorflow_hub.load (a mock SavedModel with its signature)
and the spectral autoencoder the package trains itself."""

import hashlib
import pathlib
import shutil
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

import audiosr.models as m
from audiosr import features, lowres
from audiosr.data import synthetic
from audiosr.features import vggish
from audiosr.models import losses

REPO = pathlib.Path(__file__).resolve().parents[1]
HALF_SECOND = 8192  # a 0.5 s training clip (a multiple of every preset's length_multiple)
FIT_LENGTH = 2048  # short patches keep the end-to-end fits quick


@pytest.fixture(scope="module")
def high_res():
    return synthetic.generate_clips(48, HALF_SECOND, seed=7)


@pytest.fixture(scope="module")
def spline_pairs(high_res):
    low = np.stack([lowres.simulate_lowres(clip, 2) for clip in high_res])
    return low[..., None], high_res[..., None]


@pytest.fixture(scope="module")
def trained_path(high_res, tmp_path_factory):
    """A spectral autoencoder trained briefly, saved as .keras."""
    model = features.train_feature_network(high_res[:40], epochs=3, batch_size=8, validation_clips=high_res[40:],
                                           seed=0, verbose=0)
    path = tmp_path_factory.mktemp("features") / "features.keras"
    features.save_feature_network(model, path)
    return path, model.history.history


def test_vggish_front_end_needs_0975_seconds_for_one_embedding():
    # The documented reason for padding: VGGish embeds only whole 0.96 s patches.
    assert vggish.log_mel_patches(tf.zeros([HALF_SECOND])).shape[0] == 0
    assert vggish.log_mel_patches(tf.zeros([vggish.MIN_SAMPLES - 1])).shape[0] == 0
    assert vggish.log_mel_patches(tf.zeros([vggish.MIN_SAMPLES])).shape[0] == 1


def test_joined_clips_give_whole_patches_that_never_mix_two_clips(rng):
    clips = rng.uniform(-1, 1, (3, 20000, 1)).astype("float32")
    stream, per_clip = vggish.clips_to_stream(clips)
    assert per_clip == 2  # 20000 samples need a second patch
    joined = vggish.log_mel_patches(stream).numpy()
    assert joined.shape == (3 * per_clip, 96, 64)
    for k in range(3):
        alone, _ = vggish.clips_to_stream(clips[k:k + 1])
        np.testing.assert_allclose(joined[k * per_clip:(k + 1) * per_clip], vggish.log_mel_patches(alone).numpy(),
                                   atol=1e-4)


def test_mock_saved_model_has_vggish_hub_signature(mock_vggish):
    model = hub.load(str(mock_vggish))
    assert model(tf.zeros([vggish.MIN_SAMPLES])).shape == (1, 128)
    assert model(tf.zeros([2 * vggish.PATCH_SAMPLES + vggish.WINDOW_OVERHANG])).shape == (2, 128)
    assert model(tf.zeros([vggish.MIN_SAMPLES])).dtype == tf.float32


def test_vggish_features_pad_short_clips_and_keep_clips_independent(mock_vggish, high_res):
    layer = features.VGGishFeatures(mock_vggish)
    assert not layer.trainable
    batch = high_res[:4, :, None]
    out = keras.ops.convert_to_numpy(layer(batch))
    assert out.shape == (4, 1, 128)  # a 0.5 s clip, padded, gives one embedding
    assert np.all(np.isfinite(out)) and np.abs(out).max() > 0
    # Batching is only a speed-up: each clip's embedding is what it gets alone.
    for k in range(4):
        np.testing.assert_allclose(out[k], keras.ops.convert_to_numpy(layer(batch[k:k + 1]))[0], rtol=1e-4, atol=1e-5)
    # Same as calling the hub model on the clip padded by hand (240 zeros before, zeros up to 15600 after).
    by_hand = np.zeros(vggish.MIN_SAMPLES, "float32")
    by_hand[vggish.WINDOW_OVERHANG:vggish.WINDOW_OVERHANG + HALF_SECOND] = high_res[0]
    np.testing.assert_allclose(out[0], hub.load(str(mock_vggish))(by_hand).numpy(), rtol=1e-4, atol=1e-5)
    # Two clips of different content differ.
    assert np.abs(out[0] - out[1]).max() > 1e-3


def test_vggish_features_longer_clips_and_log_mel_outputs(mock_vggish, rng):
    audio = rng.uniform(-0.5, 0.5, (2, 2 * HALF_SECOND, 1)).astype("float32")
    assert features.VGGishFeatures(mock_vggish)(audio).shape == (2, 2, 128)
    assert features.VGGishFeatures(mock_vggish, outputs=("log_mel",))(audio).shape == (2, 2 * 96, 64)
    both = features.VGGishFeatures(mock_vggish, outputs=("embedding", "log_mel"))(audio)
    assert both.shape == (2, 2 * 128 + 2 * 96 * 64)
    with pytest.raises(ValueError, match="outputs"):
        features.VGGishFeatures(mock_vggish, outputs=("fc1",))


def test_feature_stack_weighs_each_map_equally(rng):
    small, large = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 30, 8))
    small_b, large_b = small + 1.0, large + 3.0  # per-map mean squared differences 1 and 9
    stack = features.FeatureStack()
    diff = keras.ops.convert_to_numpy(stack([small, large]) - stack([small_b, large_b]))
    assert np.mean(diff**2) == pytest.approx((1.0 + 9.0) / 2, rel=1e-5)


@pytest.mark.parametrize("handle", ["missing", "empty_folder", "unreachable_url"])
def test_bad_vggish_handle_fails_with_instructions(handle, tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    if handle == "missing":
        spec = str(tmp_path / "no_such_model")
    elif handle == "empty_folder":
        (tmp_path / "empty").mkdir()
        spec = str(tmp_path / "empty")
    else:  # a local port nobody listens on: the same failure as no internet, without touching the network
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        spec = f"http://127.0.0.1:{port}/google/vggish/1"
    with pytest.raises(features.ContentNetworkError) as caught:
        features.load_content_network(spec)
    message = str(caught.value)
    assert spec in message and "TFHUB_CACHE_DIR" in message and "--content_network=" in message


def test_model_without_vggish_signature_is_refused(tmp_path):
    class TwoDimensional(tf.Module):
        @tf.function(input_signature=(tf.TensorSpec([None, None], tf.float32),))
        def __call__(self, batch):
            return tf.reduce_mean(batch, axis=1, keepdims=True)

    tf.saved_model.save(TwoDimensional(), str(tmp_path / "other"))
    with pytest.raises(features.ContentNetworkError, match="cannot be called like VGGish"):
        features.load_content_network(str(tmp_path / "other"))


def test_vggish_alias_loads_from_tfhub_cache_without_network(mock_vggish, tmp_path, monkeypatch):
    # What a user without internet does: copy a TFHUB_CACHE_DIR filled on another machine.
    cache = tmp_path / "cache"
    shutil.copytree(mock_vggish, cache / hashlib.sha1(features.VGGISH_HANDLE.encode()).hexdigest())
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(cache))
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)
    net = features.load_content_network("vggish")
    assert isinstance(net, features.VGGishFeatures) and net.handle == features.VGGISH_HANDLE
    assert net(np.zeros((1, HALF_SECOND, 1), "float32")).shape == (1, 1, 128)


def test_self_trained_network_learns_and_loads_frozen(trained_path, spline_pairs):
    path, history = trained_path
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert not list(path.parent.glob(".partial-*"))  # written atomically
    net = features.load_content_network(str(path))
    assert not net.trainable and not net.trainable_weights
    x, y = spline_pairs
    fy, fx = net(y[:4]), net(x[:4])
    assert fy.shape[0] == 4 and len(fy.shape) == 2
    np.testing.assert_allclose(keras.ops.convert_to_numpy(net(y[:4])), keras.ops.convert_to_numpy(fy), atol=1e-6)
    # The features see what the spline lacks: its distance to the target dwarfs that of a 0.1 % gain change.
    spline_distance = float(losses.content_loss(fy, fx))
    assert spline_distance > 10 * float(losses.content_loss(fy, net(y[:4] * 1.001)))


def test_self_trained_network_trains_on_pair_datasets(spline_pairs):
    x, y = spline_pairs
    pairs = tf.data.Dataset.from_tensor_slices((x[:16], y[:16])).batch(8)
    model = features.train_feature_network(pairs, epochs=1, seed=1, verbose=0)
    # The normalisation was fitted on the high-res half: per-bin means of the log spectra of y.
    log_spec = model.get_layer("log_spectrogram")(y[:16])
    expected = keras.ops.convert_to_numpy(keras.ops.mean(log_spec, axis=(0, 1)))
    np.testing.assert_allclose(np.ravel(model.get_layer("spectrum").mean), expected, rtol=1e-3, atol=1e-3)


def test_any_keras_classifier_exposes_its_penultimate_layer(tmp_path):
    inputs = keras.Input((None, 1))
    hidden = keras.layers.Conv1D(6, 9, activation="relu", name="hidden")(inputs)
    pooled = keras.layers.GlobalAveragePooling1D(name="pooled")(hidden)
    logits = keras.layers.Dense(3, name="logits")(pooled)
    path = tmp_path / "classifier.keras"
    keras.Model(inputs, logits).save(path)
    net = features.load_content_network(str(path))
    assert net(np.zeros((2, 256, 1), "float32")).shape == (2, 6)  # pooled features, not the 3 logits


@pytest.mark.parametrize("content", ["missing", "corrupt", "not_audio"])
def test_bad_keras_file_fails_with_instructions(content, tmp_path):
    path = tmp_path / "features.keras"
    if content == "corrupt":
        path.write_bytes(b"not a zip file")
    elif content == "not_audio":
        inputs = keras.Input((16,))
        keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Dense(4)(inputs))).save(path)
    with pytest.raises(features.ContentNetworkError, match="train_features.py") as caught:
        features.load_content_network(str(path))
    expected = {"missing": f"{path} not found", "corrupt": f"could not load the content network {path}",
                "not_audio": "must take one (batch, time, 1) audio input"}[content]
    assert expected in str(caught.value)


@pytest.fixture(scope="module", params=["vggish", "self_trained"])
def content_network(request, trained_path):
    if request.param == "vggish":
        return features.VGGishFeatures(request.getfixturevalue("mock_vggish"))
    return features.load_content_network(str(trained_path[0]))


def test_content_loss_gradients_reach_every_generator_weight(content_network, spline_pairs):
    x, y = spline_pairs
    model = m.build_model("unet", 2, preset="tiny", input_length=HALF_SECOND, content_network=content_network)
    with tf.GradientTape() as tape:
        prediction = model.generator(x[:4], training=False)
        loss = losses.content_loss(content_network(y[:4]), content_network(prediction))
    weights = model.generator.trainable_weights
    grads = tape.gradient(loss, weights)
    assert float(loss) > 0
    for weight, grad in zip(weights, grads):
        assert grad is not None, weight.path
        grad = keras.ops.convert_to_numpy(grad)
        assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0, weight.path
    assert not content_network.trainable_weights


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["unet", "gan", "wgan"])
def test_content_models_train_end_to_end(kind, content_network, spline_pairs):
    x, y = (a[:12, :FIT_LENGTH] for a in spline_pairs)
    extra = {} if kind == "unet" else {"discriminator_filters": 4}
    if kind == "wgan":
        extra["n_critic"] = 1
    model = m.build_model(kind, 2, preset="tiny", input_length=FIT_LENGTH, content_network=content_network,
                          content_weight=0.01, seed=0, **extra)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = [w.copy() for w in model.generator.get_weights()]
    history = model.fit(x[:8], y[:8], batch_size=4, epochs=1, validation_data=(x[8:], y[8:]), verbose=0)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert logs["content"] > 0 and np.isfinite(logs["loss"]) and logs["val_content"] > 0
    assert logs["val_loss"] == pytest.approx(logs["val_l2"] + 0.01 * logs["val_content"], rel=1e-4)
    assert any(np.abs(a - b).max() > 0 for a, b in zip(before, model.generator.get_weights()))


@pytest.mark.slow
def test_train_features_app_prepares_a_folder_and_skips_a_corrupt_file(tmp_path):
    from audiosr.audio_io import write_audio_atomic

    folder = tmp_path / "recordings"
    folder.mkdir()
    for i, clip in enumerate(synthetic.generate_clips(3, 32000, seed=11)):
        write_audio_atomic(folder / f"take{i}.flac", clip, 16000)
    (folder / "broken.wav").write_bytes(b"RIFF not really")
    output = tmp_path / "models" / "speech.keras"
    done = subprocess.run(
        [sys.executable, str(REPO / "experiments" / "train_features.py"), f"--audio_dir={folder}",
         f"--prepared_dir={tmp_path / 'prepared'}", "--num_clips=24", "--batch_size=8", "--epochs=1",
         f"--output={output}", "--verbose=0"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "broken.wav" in done.stderr and str(output) in done.stdout
    assert [p.name for p in output.parent.iterdir()] == ["speech.keras"]
    assert features.load_content_network(str(output))(np.zeros((1, 1024, 1), "float32")).shape[0] == 1
