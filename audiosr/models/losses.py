"""The losses (L2, adversarial, WGAN critic, gradient penalty, content, multi-resolution STFT), written once and shared
by the models.

All take batches and return scalar float32 means over the (per-replica)
batch: inputs are cast to float32 first, so the losses keep full precision
under a mixed precision policy (a float16 network's features or scores).
"""

from keras import ops


def _float32(*tensors):
    return [ops.cast(t, "float32") for t in tensors]


def l2_loss(y_true, y_pred):
    """Mean squared error between target and prediction."""
    y_true, y_pred = _float32(y_true, y_pred)
    return ops.mean(ops.square(y_true - y_pred))


def _bce_with_logits(logits, label):
    """Mean sigmoid cross-entropy of ``logits`` against a constant ``label`` (0 or 1)."""
    (logits,) = _float32(logits)
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, label), logits, from_logits=True))


def generator_adversarial_loss(fake_logits):
    """-log D(G(x)), the non-saturating generator loss."""
    return _bce_with_logits(fake_logits, 1.0)


def discriminator_loss(real_logits, fake_logits):
    """-log D(y) - log(1 - D(G(x)))."""
    return _bce_with_logits(real_logits, 1.0) + _bce_with_logits(fake_logits, 0.0)


def critic_loss(real_scores, fake_scores):
    """WGAN critic: mean C(G(x)) - mean C(y) (minimised)."""
    real_scores, fake_scores = _float32(real_scores, fake_scores)
    return ops.mean(fake_scores) - ops.mean(real_scores)


def generator_critic_loss(fake_scores):
    """WGAN generator: -mean C(G(x))."""
    (fake_scores,) = _float32(fake_scores)
    return -ops.mean(fake_scores)


def content_loss(features_true, features_pred):
    """L2 between feature maps of target and prediction (the "-C" models)."""
    return l2_loss(features_true, features_pred)


def gradient_penalty(critic, real, fake, alpha):
    """WGAN-GP: mean (||grad_m C(m)||_2 - 1)^2 at m = alpha * real + (1 - alpha) * fake.

    ``alpha`` has shape (batch, 1, 1) (Gulrajani et al. draw it from U(0, 1)).
    The critic runs in training mode, as in its own update.
    """
    import tensorflow as tf  # the inner gradient needs a tape

    real, fake, alpha = _float32(real, fake, alpha)
    mixed = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = critic(mixed, training=True)
    (grads,) = _float32(tape.gradient(scores, mixed))
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=tuple(range(1, len(grads.shape)))) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def weighted_sum(weights, terms):
    """``sum(weights[name] * terms[name])`` over ``terms``: a model's objective from its named terms.

    Every term needs a weight, so a term added without one fails loudly.
    """
    missing = sorted(set(terms) - set(weights))
    if missing:
        raise KeyError(f"loss terms without a weight: {missing}")
    return sum(weights[name] * value for name, value in terms.items())


STFT_RESOLUTIONS = ((512, 128), (1024, 256), (256, 64))  # (FFT size, hop) at 16 kHz


def multi_resolution_stft_loss(y_true, y_pred, resolutions=STFT_RESOLUTIONS, epsilon=1e-7):
    """Spectral convergence plus L1 log-magnitude distance, averaged over STFT resolutions.

    L2 on waveforms barely rewards the quiet high band that LSD scores; a
    log-magnitude term does. Inputs are (batch, T, 1).
    """
    y_true, y_pred = ops.squeeze(y_true, -1), ops.squeeze(y_pred, -1)
    total = 0.0
    for n_fft, hop in resolutions:
        def magnitude(x, n_fft=n_fft, hop=hop):
            real, imag = ops.stft(x, n_fft, hop, n_fft, window="hann", center=True)
            return ops.sqrt(ops.square(real) + ops.square(imag) + epsilon)

        true, pred = magnitude(y_true), magnitude(y_pred)
        convergence = ops.sqrt(ops.sum(ops.square(true - pred))) / ops.sqrt(ops.sum(ops.square(true)))
        total = total + convergence + ops.mean(ops.abs(ops.log(true) - ops.log(pred)))
    return total / len(resolutions)
