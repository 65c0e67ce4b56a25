"""Generators: Kuleshov et al.'s AudioUNet (the study's) and a fast low-rate U-Net for CPUs."""

import dataclasses
import math

import keras

from audiosr.models.layers import KnownBand, PhaseSplit1D, ReplicaDropout, SubPixel1D


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


@dataclasses.dataclass(frozen=True)
class FastPreset:
    """Sizes of the fast generator: one filter count and kernel size per level.

    Level 0 runs at the low rate (1/r of the output's), each further level at
    half the rate of the one before.
    """

    filters: tuple
    kernel_sizes: tuple
    known_band: bool = True

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
    # Convolutions at the low rate and below, for CPU inference: 0.37 GFLOP per 8192 output samples at r=2.
    "fast": FastPreset(filters=(32, 48, 64, 96), kernel_sizes=(9, 7, 7, 5)),
}


def get_preset(name_or_preset):
    if isinstance(name_or_preset, (UNetPreset, FastPreset)):
        return name_or_preset
    try:
        return PRESETS[name_or_preset]
    except KeyError:
        raise ValueError(f"unknown preset {name_or_preset!r}; choose from {sorted(PRESETS)}") from None


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


def build_fast_generator(ratio, preset="fast", input_length=None, name="fastunet"):
    """A U-Net that works at 1/``ratio`` of the output rate: (batch, T, 1) -> (batch, T, 1).

    It takes the spline input like AudioUNet (so data, inference and
    evaluation treat both alike), splits it into ``ratio`` phases (phase 0
    holds the low-rate samples exactly), runs every convolution at the low
    rate or below, and returns ``ratio`` output phases through SubPixel1D as
    a residual on the spline. With ``preset.known_band`` the residual's band
    below the low-res cut-off is set from the low-rate samples
    (:class:`audiosr.models.layers.KnownBand`). ``T`` must be a multiple of
    ``ratio * 2 ** (levels - 1)``.
    """
    preset = get_preset(preset)
    if not isinstance(preset, FastPreset):
        raise ValueError(f"build_fast_generator needs a FastPreset, got {preset!r}")
    if len(preset.filters) != len(preset.kernel_sizes):
        raise ValueError("preset needs one kernel size per filter count")
    ratio = int(ratio)
    init = keras.initializers.Orthogonal()
    inputs = keras.Input((input_length, 1), name="spline_input")
    x = PhaseSplit1D(ratio, name="phase_split")(inputs)
    skips = []
    for level, (filters, kernel) in enumerate(zip(preset.filters, preset.kernel_sizes)):
        x = keras.layers.Conv1D(filters, kernel, strides=1 if level == 0 else 2, padding="same",
                                kernel_initializer=init, name=f"down{level}_conv")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"down{level}_lrelu")(x)
        skips.append(x)
    for level in reversed(range(preset.num_blocks - 1)):
        x = keras.layers.Conv1D(2 * preset.filters[level], preset.kernel_sizes[level + 1], padding="same",
                                kernel_initializer=init, name=f"up{level}_conv")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"up{level}_lrelu")(x)
        x = SubPixel1D(2, name=f"up{level}_subpixel")(x)
        x = keras.layers.Add(name=f"up{level}_skip")([x, skips[level]])
    # Small initial output: the untrained network is ~ the spline (plus the known band).
    x = keras.layers.Conv1D(ratio, preset.kernel_sizes[0], padding="same",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3), name="final_conv")(x)
    x = SubPixel1D(ratio, name="final_subpixel")(x)
    # The known band and the residual sum stay float32 under a mixed precision policy, as AudioUNet's sum does:
    # a 16-bit copy of the spline input would round what the output takes from it.
    if preset.known_band:
        x = KnownBand(ratio, name="known_band", dtype="float32")([x, inputs])
    outputs = keras.layers.Add(name="residual", dtype="float32")([x, inputs])
    return keras.Model(inputs, outputs, name=name)


def build_generator(preset, ratio, input_length=None):
    """The generator a preset names: AudioUNet for UNetPreset, the fast U-Net for FastPreset."""
    preset = get_preset(preset)
    if isinstance(preset, FastPreset):
        return build_fast_generator(ratio, preset, input_length)
    return build_audiounet(preset, input_length)


def length_multiple(generator):
    """Input lengths ``generator`` accepts are multiples of this (its strides and phase splits)."""
    factors = [layer.ratio if isinstance(layer, PhaseSplit1D) else getattr(layer, "strides", (1,))[0]
               for layer in generator.layers]
    return math.prod(factors)
