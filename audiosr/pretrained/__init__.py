"""The models shipped inside the package: list them, find their files, describe them.

Each shipped model is ``<name>.keras`` (float32 weights, an inference-only
UNetSR) beside ``<name>.json`` (ratio, rates, how it was trained, on what,
who was held out, held-out scores per input maker) and ``<name>.md``, its
model card. How they are made is the training recipe's business
(:mod:`audiosr.train.recipe`, ``experiments/export_pretrained.py``,
``make pretrained``); this module only reads what it wrote.
"""

import json
import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def catalog():
    """{name: metadata} of the models shipped in this folder, sorted by name."""
    models = {}
    for entry in sorted(os.listdir(PACKAGE_DIR)):
        stem, ext = os.path.splitext(entry)
        if ext == ".json" and os.path.isfile(os.path.join(PACKAGE_DIR, stem + ".keras")):
            with open(os.path.join(PACKAGE_DIR, entry), encoding="utf-8") as handle:
                models[stem] = json.load(handle)
    return models


def model_path(name_or_path):
    """The file of a shipped model's name (``speech-r2``), or ``name_or_path`` itself."""
    if name_or_path in catalog():
        return os.path.join(PACKAGE_DIR, f"{name_or_path}.keras")
    return os.fspath(name_or_path)


def model_card(name):
    """The model card (markdown) of the shipped model ``name``, or None for anything else."""
    path = os.path.join(PACKAGE_DIR, f"{name}.md")
    if name not in catalog() or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def candidates(domain="speech"):
    """The shipped ``domain`` models as :class:`audiosr.planning.Candidate` objects: what ``audiosr upsample``
    chooses from when no model is named (:func:`audiosr.planning.plan` decides which, from the file's band)."""
    from audiosr.planning import Candidate

    models = [Candidate(name, meta["input_rate"], meta["output_rate"])
              for name, meta in catalog().items() if meta["domain"] == domain]
    if not models:
        raise ValueError(f"no shipped {domain} model")
    return tuple(models)
