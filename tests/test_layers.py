import keras
import numpy as np
import pytest

from audiosr.models.layers import PhaseShuffle, ReplicaDropout, SubPixel1D


def subpixel_reference(t, r):
    """The seed's formula, one element at a time: PS(T)[x, c] = T[floor(x/r), C*mod(x,r) + c]."""
    batch, width, channels_in = t.shape
    channels = channels_in // r
    out = np.zeros((batch, width * r, channels), dtype=t.dtype)
    for b in range(batch):
        for x in range(width * r):
            for c in range(channels):
                out[b, x, c] = t[b, x // r, channels * (x % r) + c]
    return out


@pytest.mark.parametrize("r,channels", [(2, 1), (2, 3), (4, 2), (3, 5)])
def test_subpixel_matches_loop_formula(rng, r, channels):
    t = rng.standard_normal((2, 7, r * channels)).astype("float32")
    out = keras.ops.convert_to_numpy(SubPixel1D(r)(t))
    np.testing.assert_array_equal(out, subpixel_reference(t, r))


def test_subpixel_shape_and_serialization(rng):
    layer = SubPixel1D(4, name="sp")
    assert layer.compute_output_shape((None, 10, 8)) == (None, 40, 2)
    clone = SubPixel1D.from_config(layer.get_config())
    t = rng.standard_normal((1, 5, 8)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(clone(t)), keras.ops.convert_to_numpy(layer(t)))


def test_subpixel_rejects_indivisible_channels():
    with pytest.raises(ValueError, match="do not divide"):
        SubPixel1D(2)(np.zeros((1, 4, 3), "float32"))


def _shift_of(out, x, radius):
    """Which shift k in [-radius, radius] turned x into out (out[t] = x[t - k] inside)."""
    inner = slice(radius, x.shape[1] - radius)
    for k in range(-radius, radius + 1):
        if np.array_equal(out[:, inner], np.roll(x, k, axis=1)[:, inner]):
            return k
    raise AssertionError("output is not a shifted copy of the input")


def test_phase_shuffle_keeps_shape_and_reaches_every_shift(rng):
    radius = 2
    layer = PhaseShuffle(radius, seed=3)
    x = rng.standard_normal((3, 32, 4)).astype("float32")
    seen = set()
    for _ in range(100):
        out = keras.ops.convert_to_numpy(layer(x, training=True))
        assert out.shape == x.shape
        seen.add(_shift_of(out, x, radius))
    assert seen == set(range(-radius, radius + 1))


def test_phase_shuffle_same_shift_for_whole_batch(rng):
    layer = PhaseShuffle(3, seed=5)
    x = rng.standard_normal((4, 20, 2)).astype("float32")
    for _ in range(10):
        out = keras.ops.convert_to_numpy(layer(x, training=True))
        shifts = {_shift_of(out[i : i + 1], x[i : i + 1], 3) for i in range(4)}
        assert len(shifts) == 1


def test_phase_shuffle_reflect_padding_content():
    x = np.arange(10, dtype="float32").reshape(1, 10, 1)
    layer = PhaseShuffle(2, seed=0)
    outputs = {}
    for _ in range(200):
        out = keras.ops.convert_to_numpy(layer(x, training=True))[0, :, 0]
        outputs[_shift_of(out[None, :, None], x, 2)] = out
    # out[t] = x[t - k], reflected (without repeating the edge sample) where t - k leaves [0, 9].
    np.testing.assert_array_equal(outputs[2], [2, 1, 0, 1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(outputs[1], [1, 0, 1, 2, 3, 4, 5, 6, 7, 8])
    np.testing.assert_array_equal(outputs[-2], [2, 3, 4, 5, 6, 7, 8, 9, 8, 7])
    np.testing.assert_array_equal(outputs[0], x[0, :, 0])


def test_phase_shuffle_is_identity_at_inference(rng):
    layer = PhaseShuffle(2, seed=1)
    x = rng.standard_normal((2, 16, 3)).astype("float32")
    for training in (False, None):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=training)), x)


def test_phase_shuffle_serializes():
    layer = PhaseShuffle(4, seed=9)
    clone = PhaseShuffle.from_config(layer.get_config())
    assert (clone.radius, clone.seed) == (4, 9)


def test_replica_dropout_draws_what_keras_dropout_draws_on_one_device():
    # Folding in the replica id (tests/test_distributed.py) changes nothing without a strategy.
    x = np.ones((2, 64, 3), dtype="float32")
    ours, theirs = ReplicaDropout(0.5, seed=7), keras.layers.Dropout(0.5, seed=7)
    for _ in range(3):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours(x, training=True)),
                                      keras.ops.convert_to_numpy(theirs(x, training=True)))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours(x, training=False)), x)
    clone = ReplicaDropout.from_config(ours.get_config())
    assert (clone.rate, clone.seed) == (0.5, 7)
