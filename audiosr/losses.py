"""The study's losses (L2, adversarial, WGAN critic, gradient penalty, content), written once and shared
by the models.

All take batches and return scalar means over the (per-replica) batch.
"""

from keras import ops


def l2_loss(y_true, y_pred):
    """Mean squared error between target and prediction."""
    return ops.mean(ops.square(y_true - y_pred))


def _bce_with_logits(logits, label):
    """Stable sigmoid cross-entropy: max(z,0) - z*label + log(1 + exp(-|z|))."""
    return ops.mean(ops.relu(logits) - logits * label + ops.log1p(ops.exp(-ops.abs(logits))))


def generator_adversarial_loss(fake_logits):
    """-log D(G(x)), the non-saturating generator loss."""
    return _bce_with_logits(fake_logits, 1.0)


def discriminator_loss(real_logits, fake_logits):
    """-log D(y) - log(1 - D(G(x)))."""
    return _bce_with_logits(real_logits, 1.0) + _bce_with_logits(fake_logits, 0.0)


def critic_loss(real_scores, fake_scores):
    """WGAN critic: mean C(G(x)) - mean C(y) (minimised)."""
    return ops.mean(fake_scores) - ops.mean(real_scores)


def generator_critic_loss(fake_scores):
    """WGAN generator: -mean C(G(x))."""
    return -ops.mean(fake_scores)


def content_loss(features_true, features_pred):
    """L2 between feature maps of target and prediction (the "-C" models)."""
    return ops.mean(ops.square(features_true - features_pred))
