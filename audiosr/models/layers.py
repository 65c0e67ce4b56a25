"""The layers the models add to Keras: 1D subpixel upsampling and its inverse, phase shuffle, the known
low band of the fast generator, and dropout that draws a different mask on every tf.distribute replica."""

import keras
import tensorflow as tf
from keras import ops


def replica_seed(seed_generator):
    """The next seed of ``seed_generator``, made distinct per tf.distribute replica.

    A SeedGenerator's state is mirrored, so every replica of a distributed
    step would draw the same numbers (the same dropout mask, the same phase
    shift) on its own part of the batch. Folding the replica id into the seed
    gives each replica its own draws; with one replica the seed is unchanged.
    Returns an int32 seed for ``tf.random.stateless_*``.
    """
    seed = seed_generator.next()
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        seed = tf.random.experimental.stateless_fold_in(seed, context.replica_id_in_sync_group)
    return tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)  # as Keras casts its seeds


class RatioLayer(keras.layers.Layer):
    """A layer set by an integer ratio r >= 1 (the upsampling ratio), saved with it in its config."""

    def __init__(self, ratio, **kwargs):
        super().__init__(**kwargs)
        if int(ratio) < 1:
            raise ValueError(f"{type(self).__name__} ratio must be >= 1, got {ratio}")
        self.ratio = int(ratio)

    def get_config(self):
        return {**super().get_config(), "ratio": self.ratio}


@keras.saving.register_keras_serializable(package="audiosr")
class SubPixel1D(RatioLayer):
    """1D phase shift: (batch, W, r*C) -> (batch, r*W, C).

    ``out[b, x, c] = in[b, x // r, C * (x % r) + c]``: each group of ``r``
    channels becomes ``r`` consecutive samples (Shi et al.'s subpixel
    convolution, as Kuleshov et al. use it for audio).
    """

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
        shift = tf.random.stateless_uniform((), replica_seed(self.seed_generator), -n, n + 1, dtype=tf.int32)
        padded = ops.pad(inputs, ((0, 0), (n, n), (0, 0)), mode="reflect")
        shape = ops.shape(inputs)
        # out[t] = in[t - shift], read from the reflect-padded copy.
        start = ops.stack([0, n - shift, 0])
        return ops.slice(padded, start, (shape[0], shape[1], shape[2]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "radius": self.radius, "seed": self.seed}


@keras.saving.register_keras_serializable(package="audiosr")
class ReplicaDropout(keras.layers.Dropout):
    """keras.layers.Dropout whose mask differs across tf.distribute replicas (see :func:`replica_seed`)."""

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return tf.nn.experimental.stateless_dropout(
            inputs, self.rate, seed=replica_seed(self.seed_generator), noise_shape=self.noise_shape
        )


@keras.saving.register_keras_serializable(package="audiosr")
class PhaseSplit1D(RatioLayer):
    """The inverse of :class:`SubPixel1D`: (batch, r*W, C) -> (batch, W, r*C).

    Each run of ``r`` consecutive samples becomes one step of ``r*C``
    channels, so a network can work at 1/r of the time resolution without
    discarding a sample.
    """

    def call(self, inputs):
        batch, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        return ops.reshape(inputs, (batch, length // self.ratio, inputs.shape[-1] * self.ratio))

    def compute_output_shape(self, input_shape):
        batch, length, channels = input_shape
        length = None if length is None else length // self.ratio
        return (batch, length, channels * self.ratio)


def known_band_filter(ratio):
    """Linear-phase low-pass FIR passing the band a ``ratio``-decimated signal keeps exactly.

    :func:`audiosr.lowres.decimate` keeps 0..0.8 of the low-rate Nyquist band;
    the filter passes up to 0.6 of it and stops (60 dB) from 0.8 on, in units
    of the high rate. Applied to the zero-stuffed low-rate signal times
    ``ratio`` it is also an interpolator: the images start at 1.2.
    """
    from scipy import signal

    width = 0.2 / ratio
    numtaps, beta = signal.kaiserord(60.0, width)
    numtaps += 1 - numtaps % 2  # odd: a centred, zero-delay kernel
    return signal.firwin(numtaps, 0.7 / ratio, window=("kaiser", beta)).astype("float32")


@keras.saving.register_keras_serializable(package="audiosr")
class KnownBand(RatioLayer):
    """Replace the low band of a predicted residual by the one the input fixes.

    Inputs ``[residual, spline]`` at the high rate (the model's output is
    ``spline + residual``). The band below the decimation filter's cut-off
    is known exactly from the low-rate samples ``spline[::ratio]``, so the
    output's band there is set to that, leaving the network only the band
    above. Sample 0 of the input must be a low-rate sample (true for every
    window start that is a multiple of ``ratio``).
    """

    def __init__(self, ratio, **kwargs):
        super().__init__(ratio, **kwargs)
        self._kernel = known_band_filter(self.ratio).reshape(-1, 1, 1)

    def call(self, inputs):
        residual, spline = inputs
        length = ops.shape(spline)[1]
        phase = ops.cast(ops.equal(ops.arange(length) % self.ratio, 0), spline.dtype)
        known = spline * ops.reshape(phase, (1, -1, 1)) * self.ratio - spline  # low band: true residual's
        kernel = ops.cast(self._kernel, residual.dtype)
        return residual + ops.conv(ops.cast(known, residual.dtype) - residual, kernel, padding="same")

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]
