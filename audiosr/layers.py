"""The two layers the study adds to Keras: 1D subpixel upsampling and phase shuffle."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="audiosr")
class SubPixel1D(keras.layers.Layer):
    """1D phase shift: (batch, W, r*C) -> (batch, r*W, C).

    ``out[b, x, c] = in[b, x // r, C * (x % r) + c]``: each group of ``r``
    channels becomes ``r`` consecutive samples (Shi et al.'s subpixel
    convolution, as Kuleshov et al. use it for audio).
    """

    def __init__(self, ratio, **kwargs):
        super().__init__(**kwargs)
        if int(ratio) < 1:
            raise ValueError(f"SubPixel1D ratio must be >= 1, got {ratio}")
        self.ratio = int(ratio)

    def call(self, inputs):
        channels = inputs.shape[-1]
        if channels % self.ratio:
            raise ValueError(f"SubPixel1D: {channels} channels do not divide by ratio {self.ratio}")
        batch, width = ops.shape(inputs)[0], ops.shape(inputs)[1]
        return ops.reshape(inputs, (batch, width * self.ratio, channels // self.ratio))

    def compute_output_shape(self, input_shape):
        batch, width, channels = input_shape
        width = None if width is None else width * self.ratio
        return (batch, width, channels // self.ratio)

    def get_config(self):
        return {**super().get_config(), "ratio": self.ratio}


@keras.saving.register_keras_serializable(package="audiosr")
class PhaseShuffle(keras.layers.Layer):
    """WaveGAN's phase shuffle: shift the whole batch by one random k in [-n, n].

    The gap is filled by reflection and the length is kept. Only active while
    training, so a discriminator scores unshifted audio at inference.
    """

    def __init__(self, radius, seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(radius) < 0:
            raise ValueError(f"PhaseShuffle radius must be >= 0, got {radius}")
        self.radius = int(radius)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.radius == 0:
            return inputs
        n = self.radius
        shift = keras.random.randint((), -n, n + 1, seed=self.seed_generator)
        padded = ops.pad(inputs, ((0, 0), (n, n), (0, 0)), mode="reflect")
        shape = ops.shape(inputs)
        # out[t] = in[t - shift], read from the reflect-padded copy.
        start = ops.stack([0, n - shift, 0])
        return ops.slice(padded, start, (shape[0], shape[1], shape[2]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "radius": self.radius, "seed": self.seed}
