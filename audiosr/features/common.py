"""What every content network shares: its error type and how its feature maps become one tensor."""

import math

import keras
from keras import ops


class ContentNetworkError(RuntimeError):
    """A content-loss network could not be loaded or does not have the expected interface.

    The message says what failed and how to get a usable network, so a
    training script can stop with it at start-up.
    """


@keras.saving.register_keras_serializable(package="audiosr")
class FeatureStack(keras.layers.Layer):
    """Several feature maps -> one (batch, features) tensor that weighs each map equally.

    Map ``i`` (``n_i`` values per example) is flattened and scaled by
    ``sqrt(n / (L * n_i))`` (``n`` values in all, ``L`` maps), so the mean
    squared difference of two stacks -- the content loss -- is the average
    over maps of each map's own mean squared difference, whatever the
    maps' sizes. A single map is only flattened.
    """

    def call(self, maps):
        batch = ops.shape(maps[0])[0]
        flat = [ops.reshape(m, (batch, -1)) for m in maps]
        if len(flat) == 1:
            return flat[0]
        sizes = [ops.cast(ops.shape(f)[1], "float32") for f in flat]
        total = sum(sizes)
        return ops.concatenate(
            [f * ops.sqrt(total / (len(flat) * size)) for f, size in zip(flat, sizes)], axis=1
        )

    def compute_output_shape(self, input_shapes):
        sizes = [None if None in s[1:] else math.prod(s[1:]) for s in input_shapes]
        return (input_shapes[0][0], None if None in sizes else sum(sizes))

