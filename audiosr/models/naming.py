"""Names of the study's models: ``wgan-c`` on the command line, ``WGAN-C`` in tables.

A model is a kind (unet, gan, wgan) and whether it adds the content loss ("-C").
"""

MODEL_LABELS = {"unet": "UNet", "gan": "GAN", "wgan": "WGAN"}


def model_label(kind, content=False):
    """Display name of a model: ``model_label("wgan", True) == "WGAN-C"``."""
    return MODEL_LABELS[kind] + ("-C" if content else "")


def parse_model_name(name):
    """``"wgan-c"`` -> ``("wgan", True)``; accepts display names too (``"UNet-C"``)."""
    lowered = name.strip().lower()
    kind, content = (lowered[:-2], True) if lowered.endswith("-c") else (lowered, False)
    if kind not in MODEL_LABELS:
        raise ValueError(f"unknown model {name!r}; use one of unet, gan, wgan, optionally with -c (e.g. wgan-c)")
    return kind, content
