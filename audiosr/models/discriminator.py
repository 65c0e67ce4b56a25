"""WaveGAN-style discriminator / critic with phase shuffle."""

import keras

from audiosr.models.layers import PhaseShuffle


def build_discriminator(input_length, base_filters=32, kernel_size=25, stride=4,
                        phase_shuffle_radius=2, seed=None, name="discriminator"):
    """Five layers: four strided convolutions (LeakyReLU, phase shuffle between
    them), then one linear unit.

    The output is a raw score: a logit for the GAN, a critic value for the
    WGAN. ``input_length`` is fixed because the last layer is dense over time.
    """
    if input_length is None:
        raise ValueError("the discriminator needs a fixed input_length")
    inputs = keras.Input((input_length, 1), name="audio")
    x = inputs
    for level in range(4):
        x = keras.layers.Conv1D(
            base_filters * 2**level, kernel_size, strides=stride, padding="same", name=f"conv{level}"
        )(x)
        x = keras.layers.LeakyReLU(0.2, name=f"lrelu{level}")(x)
        if level < 3:
            shuffle_seed = None if seed is None else seed + level
            x = PhaseShuffle(phase_shuffle_radius, seed=shuffle_seed, name=f"phase_shuffle{level}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(1, name="score", dtype="float32")(x)  # float32 under mixed precision
    return keras.Model(inputs, outputs, name=name)
