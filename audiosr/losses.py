"""The study's losses (DESIGN.md), written once and shared by the models.

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


STFT_RESOLUTIONS = ((512, 128), (1024, 256), (256, 64))  # (FFT size, hop) at 16 kHz


def multi_resolution_stft_loss(y_true, y_pred, resolutions=STFT_RESOLUTIONS, epsilon=1e-7):
    """Spectral convergence plus L1 log-magnitude distance, averaged over STFT resolutions.

    L2 on waveforms barely rewards the quiet high band that LSD scores; a
    log-magnitude term does. Inputs are (batch, T, 1).
    """
    y_true, y_pred = ops.squeeze(y_true, -1), ops.squeeze(y_pred, -1)
    total = 0.0
    for n_fft, hop in resolutions:
        def magnitude(x):
            real, imag = ops.stft(x, n_fft, hop, n_fft, window="hann", center=True)
            return ops.sqrt(ops.square(real) + ops.square(imag) + epsilon)

        true, pred = magnitude(y_true), magnitude(y_pred)
        convergence = ops.sqrt(ops.sum(ops.square(true - pred))) / ops.sqrt(ops.sum(ops.square(true)))
        total = total + convergence + ops.mean(ops.abs(ops.log(true) - ops.log(pred)))
    return total / len(resolutions)
