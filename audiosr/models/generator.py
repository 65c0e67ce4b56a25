"""Kuleshov et al.'s AudioUNet: the generator of every model in the study."""

import dataclasses

import keras

from audiosr.layers import ReplicaDropout, SubPixel1D


@dataclasses.dataclass(frozen=True)
class UNetPreset:
    """Sizes of an AudioUNet: one filter count and kernel size per down block.

    The bottleneck reuses the last entry, as in Kuleshov et al.'s code.
    """

    filters: tuple
    kernel_sizes: tuple
    dropout: float = 0.5

    @property
    def num_blocks(self):
        return len(self.filters)


PRESETS = {
    # The study's network: ~71 M parameters, a GPU model.
    "paper": UNetPreset(filters=(128, 384, 512, 512), kernel_sizes=(65, 33, 17, 9)),
    # Same shape, sized to train and run on a 2-core CPU.
    "cpu": UNetPreset(filters=(32, 64, 128, 128), kernel_sizes=(33, 17, 9, 9)),
    # For tests and config checks only.
    "tiny": UNetPreset(filters=(8, 16), kernel_sizes=(9, 5), dropout=0.1),
}


def get_preset(name_or_preset):
    if isinstance(name_or_preset, UNetPreset):
        return name_or_preset
    try:
        return PRESETS[name_or_preset]
    except KeyError:
        raise ValueError(f"unknown preset {name_or_preset!r}; choose from {sorted(PRESETS)}") from None


def length_multiple(generator):
    """Input lengths of ``generator`` must be multiples of this: 2 ** (its stride-2 layers)."""
    strided = [layer for layer in generator.layers if getattr(layer, "strides", (1,))[0] > 1]
    return 2 ** len(strided)


def build_audiounet(preset="cpu", input_length=None, name="audiounet"):
    """AudioUNet as a functional Keras model: (batch, T, 1) -> (batch, T, 1).

    Input is the spline-upsampled low-res signal; the network predicts the
    residual to the high-res signal. ``T`` must be a multiple of
    ``length_multiple(generator)``; ``input_length=None`` accepts any such T.
    """
    preset = get_preset(preset)
    if len(preset.filters) != len(preset.kernel_sizes):
        raise ValueError("preset needs one kernel size per filter count")
    init = keras.initializers.Orthogonal()
    inputs = keras.Input((input_length, 1), name="spline_input")
    x = inputs
    skips = []
    for level, (filters, kernel) in enumerate(zip(preset.filters, preset.kernel_sizes)):
        x = keras.layers.Conv1D(
            filters, kernel, strides=2, padding="same", kernel_initializer=init, name=f"down{level}_conv"
        )(x)
        x = keras.layers.LeakyReLU(0.2, name=f"down{level}_lrelu")(x)
        skips.append(x)

    x = keras.layers.Conv1D(
        preset.filters[-1], preset.kernel_sizes[-1], strides=2, padding="same", kernel_initializer=init,
        name="bottleneck_conv",
    )(x)
    x = ReplicaDropout(preset.dropout, name="bottleneck_dropout")(x)
    x = keras.layers.LeakyReLU(0.2, name="bottleneck_lrelu")(x)

    for level in reversed(range(preset.num_blocks)):
        filters, kernel = preset.filters[level], preset.kernel_sizes[level]
        x = keras.layers.Conv1D(
            2 * filters, kernel, padding="same", kernel_initializer=init, name=f"up{level}_conv"
        )(x)
        x = ReplicaDropout(preset.dropout, name=f"up{level}_dropout")(x)
        x = keras.layers.ReLU(name=f"up{level}_relu")(x)
        x = SubPixel1D(2, name=f"up{level}_subpixel")(x)
        x = keras.layers.Concatenate(name=f"up{level}_skip")([x, skips[level]])

    # Kuleshov et al. start the last layer at N(0, 1e-3): the untrained net is ~ the spline input.
    x = keras.layers.Conv1D(
        2, 9, padding="same", kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3), name="final_conv"
    )(x)
    x = SubPixel1D(2, name="final_subpixel")(x)
    # The residual sum stays float32 under a mixed precision policy: a float16 sum would round the spline input.
    outputs = keras.layers.Add(name="residual", dtype="float32")([x, inputs])
    return keras.Model(inputs, outputs, name=name)
