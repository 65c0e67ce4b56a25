"""Models of the study: the AudioUNet generator, the WaveGAN-style
discriminator, and the three trainable super-resolution models.

>>> import audiosr.models as m
>>> model = m.build_model("wgan", ratio=2, preset="cpu", input_length=8192)
"""

from audiosr.models.discriminator import build_discriminator
from audiosr.models.generator import (
    PRESETS,
    FastPreset,
    UNetPreset,
    build_audiounet,
    build_fast_generator,
    build_generator,
    get_preset,
    length_multiple,
)
from audiosr.models.sr_models import GANSR, WGANSR, DistributedCompileError, UNetSR, check_compile_options

MODEL_CLASSES = {"unet": UNetSR, "gan": GANSR, "wgan": WGANSR}


def build_model(kind, ratio, preset="cpu", input_length=8192, content_network=None, content_weight=1.0,
                discriminator_filters=32, seed=None, **model_kwargs):
    """Build an uncompiled UNetSR / GANSR / WGANSR with a fresh generator.

    ``input_length`` fixes the patch length the discriminator scores; the
    generator itself accepts any multiple of its total stride.
    """
    if kind not in MODEL_CLASSES:
        raise ValueError(f"unknown model {kind!r}; choose from {sorted(MODEL_CLASSES)}")
    generator = build_generator(preset, ratio)
    multiple = length_multiple(generator)
    if input_length % multiple:
        raise ValueError(f"input_length {input_length} must be a multiple of {multiple} for preset {preset!r}")
    common = dict(ratio=ratio, content_network=content_network, content_weight=content_weight)
    if kind == "unet":
        return UNetSR(generator, **common, **model_kwargs)
    discriminator = build_discriminator(input_length, base_filters=discriminator_filters, seed=seed)
    if kind == "wgan":
        model_kwargs.setdefault("seed", seed)
    return MODEL_CLASSES[kind](generator, discriminator, **common, **model_kwargs)


__all__ = [
    "DistributedCompileError", "FastPreset", "GANSR", "MODEL_CLASSES", "PRESETS", "UNetPreset", "UNetSR", "WGANSR",
    "build_audiounet", "build_discriminator", "build_fast_generator", "build_generator", "build_model",
    "check_compile_options", "get_preset", "length_multiple",
]
