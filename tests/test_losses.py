"""audiosr.models.losses against values computed by hand."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from audiosr.models import losses


def value(tensor):
    return float(ops.convert_to_numpy(tensor))


def column(values, dtype="float32"):
    """A (batch, 1) batch of scores or logits."""
    return np.asarray(values, dtype=dtype).reshape(-1, 1)


def softplus(z):
    return math.log1p(math.exp(z))


def test_l2_and_content_losses_are_mean_squared_errors():
    y_true = np.array([[[1.0], [2.0]], [[0.0], [-1.0]]], dtype="float32")
    y_pred = np.zeros_like(y_true)
    assert value(losses.l2_loss(y_true, y_pred)) == pytest.approx((1 + 4 + 0 + 1) / 4)
    assert value(losses.content_loss(np.array([[3.0, 0.0]]), np.array([[1.0, 1.0]]))) == pytest.approx((4 + 1) / 2)


def test_gan_losses_are_sigmoid_cross_entropies():
    # -log sigmoid(z) = softplus(-z); -log(1 - sigmoid(z)) = softplus(z).
    assert value(losses.generator_adversarial_loss(column([0.0, 2.0]))) == pytest.approx(
        (math.log(2) + softplus(-2)) / 2, rel=1e-6)
    assert value(losses.discriminator_loss(column([0.0]), column([0.0]))) == pytest.approx(2 * math.log(2), rel=1e-6)
    assert value(losses.discriminator_loss(column([3.0, -1.0]), column([-1.0, 0.5]))) == pytest.approx(
        (softplus(-3) + softplus(1)) / 2 + (softplus(-1) + softplus(0.5)) / 2, rel=1e-6)


def test_gan_losses_stay_finite_for_confident_logits():
    assert value(losses.generator_adversarial_loss(column([100.0]))) == pytest.approx(0.0, abs=1e-6)
    assert value(losses.generator_adversarial_loss(column([-100.0]))) == pytest.approx(100.0, rel=1e-6)
    assert value(losses.discriminator_loss(column([-80.0]), column([80.0]))) == pytest.approx(160.0, rel=1e-6)


def test_wasserstein_losses_are_differences_of_mean_scores():
    assert value(losses.critic_loss(column([1.0, 3.0]), column([0.5, 0.5]))) == pytest.approx(0.5 - 2.0)
    assert value(losses.generator_critic_loss(column([1.0, 2.0]))) == pytest.approx(-1.5)


def test_losses_are_float32_for_half_precision_inputs():
    half = column([1.0, 2.0], "float16")
    for loss in (losses.l2_loss(half, half * 0), losses.generator_adversarial_loss(half),
                 losses.discriminator_loss(half, half), losses.critic_loss(half, half),
                 losses.generator_critic_loss(half), losses.content_loss(half, half)):
        assert keras.backend.standardize_dtype(loss.dtype) == "float32"


class LinearCritic(keras.layers.Layer):
    """C(m) = <w, m>: its gradient is w at every point, so the penalty is (||w|| - 1)^2."""

    def __init__(self, w):
        super().__init__()
        self.w = ops.convert_to_tensor(w)

    def call(self, inputs, training=None):
        return ops.sum(inputs * self.w, axis=(1, 2))[:, None]


class QuadraticCritic(keras.layers.Layer):
    """C(m) = ||m||^2 / 2: its gradient is m itself, so the penalty depends on where alpha mixes."""

    def call(self, inputs, training=None):
        return 0.5 * ops.sum(ops.square(inputs), axis=(1, 2))[:, None]


def test_gradient_penalty_of_a_linear_critic_is_known(rng):
    w = np.array([[2.0], [-1.0], [2.0]], dtype="float32")  # ||w|| = 3
    real = rng.standard_normal((4, 3, 1)).astype("float32")
    fake = rng.standard_normal((4, 3, 1)).astype("float32")
    alpha = rng.uniform(size=(4, 1, 1)).astype("float32")
    assert value(losses.gradient_penalty(LinearCritic(w), real, fake, alpha)) == pytest.approx(4.0, rel=1e-5)
    unit = w / 3.0
    assert value(losses.gradient_penalty(LinearCritic(unit), real, fake, alpha)) == pytest.approx(0.0, abs=1e-6)


def test_gradient_penalty_is_taken_at_the_mix_of_real_and_fake():
    real = np.array([[[3.0], [4.0]], [[0.0], [0.0]]], dtype="float32")  # norms 5 and 0
    fake = np.zeros_like(real)
    alpha = np.array([0.5, 1.0], dtype="float32").reshape(2, 1, 1)
    # Gradients: the mixes themselves, of norms 2.5 and 0 -> mean of 1.5^2 and 1^2.
    expected = ((2.5 - 1) ** 2 + (0 - 1) ** 2) / 2
    assert value(losses.gradient_penalty(QuadraticCritic(), real, fake, alpha)) == pytest.approx(expected, rel=1e-5)


def test_weighted_sum_needs_a_weight_for_every_term():
    assert value(losses.weighted_sum({"a": 2.0, "b": 0.5}, {"a": ops.ones(()), "b": 4.0 * ops.ones(())})) == 4.0
    assert losses.weighted_sum({"a": 2.0, "unused": 9.0}, {"a": 1.5}) == 3.0
    with pytest.raises(KeyError, match="without a weight.*'stft'"):
        losses.weighted_sum({"l2": 1.0}, {"l2": 1.0, "stft": 2.0})
