"""Pretrained models shipped inside the package, and the recipe that made them.

Each shipped model is ``<name>.keras`` (float32 weights, an inference-only
UNetSR) beside ``<name>.json`` (ratio, rates, training data, the flags it was
trained with, held-out scores) in this folder. A source checkout reproduces
them from the public recordings in ``../shared/data`` (``make pretrained``):
:func:`training_sources` splits those recordings with the held-out set below
left out for scoring, and :func:`export` turns a trained run into a small
inference model.
"""

import fnmatch
import json
import os

from audiosr.atomic import write_json_atomic
from audiosr.data.corpora import Source, audio_in_folder

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

# Recordings never trained on, scored for the tables (paths relative to the data root, shell patterns).
HELD_OUT = {
    "speech": (
        "speech/vctk/nuwave_single_*",  # VCTK p225
        "speech/vctk/p257_*",
        "speech/librispeech/1502-*", "speech/librispeech/1926-*",
        "speech/librispeech/7302-*", "speech/librispeech/8580-*",
    ),
    "music": (
        "music/*Sugar_Plum_Fairy*", "music/guit_e_slide.*", "music/loop_breakbeat.*",
    ),
}
CORPORA = {"speech": "VCTK, LibriSpeech, LibriTTS, HiFi-TTS",
           "music": "Kevin MacLeod, Karissa Hobbs, Sonic Pi CC0 guitar and drum loops"}
# Validation (best-epoch choice): one file per corpus, also never trained on.
VALIDATION = {
    "speech": ("speech/librispeech/2391-*", "speech/vctk/nuwave2_8k__sample_2.*"),
    "music": ("music/guit_harmonics.*",),
}


def _matches(relative, patterns):
    return any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)


def training_sources(data_root, domain):
    """``(sources, skipped)`` of ``domain`` ("speech" or "music") under ``data_root``: held-out files in "test".

    ``skipped`` lists what is not usable audio (other files, broken links) with its reason.
    """
    if domain not in HELD_OUT:
        raise ValueError(f"unknown domain {domain!r}; choose from {sorted(HELD_OUT)}")
    audio, skipped = audio_in_folder(os.path.join(data_root, domain))
    sources = []
    for path in audio:
        relative = os.path.relpath(path, data_root)
        split = ("test" if _matches(relative, HELD_OUT[domain])
                 else "val" if _matches(relative, VALIDATION[domain]) else "train")
        sources.append(Source(path, split, relative))
    return sources, skipped


# ------------------------------------------------------------------ the shipped models


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


def default_model(input_rate, domain="speech"):
    """The shipped ``domain`` model for a recording at ``input_rate`` Hz.

    The one with the lowest input rate at or above ``input_rate`` (so the
    recording is resampled up, never losing band it has); above every
    model's input rate, the one with the highest (the recording is
    resampled down to it).
    """
    models = {name: meta for name, meta in catalog().items() if meta["domain"] == domain}
    if not models:
        raise ValueError(f"no shipped {domain} model")
    by_rate = sorted(models, key=lambda name: models[name]["input_rate"])
    at_or_above = [name for name in by_rate if models[name]["input_rate"] >= input_rate]
    return at_or_above[0] if at_or_above else by_rate[-1]


def export(trained_path, name, domain, ratio, preset="fast", out_dir=PACKAGE_DIR, data_root=None, progress=False):
    """Write ``<name>.keras`` and ``<name>.json`` in ``out_dir`` from a trained model file.

    A clean inference model (UNetSR around a freshly built ``preset``
    generator) gets the trained generator's weights, so nothing of the
    training classes (discriminator, optimizer state, loss settings) ships.
    With ``data_root``, the held-out recordings of ``domain`` are scored
    (whole files, model vs spline) into the metadata. Returns the metadata.
    """
    from audiosr.atomic import save_atomic
    from audiosr.evaluation.scoring import score_references, summarize
    from audiosr.inference import load_model
    from audiosr.models import UNetSR, build_generator
    from audiosr.train.fit import HISTORY_NAME, SETTINGS_NAME

    trained = load_model(trained_path)
    if trained.ratio != ratio:
        raise ValueError(f"{trained_path} upsamples x{trained.ratio}, not x{ratio}")
    generator = build_generator(preset, ratio)
    generator.set_weights(trained.generator.get_weights())
    model = UNetSR(generator, ratio=ratio, sample_rate=trained.sample_rate, name=name)
    os.makedirs(out_dir, exist_ok=True)
    save_atomic(model.save, os.path.join(out_dir, f"{name}.keras"))
    meta = {
        "name": name, "domain": domain, "ratio": ratio, "preset": preset,
        "input_rate": trained.sample_rate / ratio, "output_rate": trained.sample_rate,
        "parameters": generator.count_params(),
        "training_data": f"{domain} recordings of ../shared/data ({CORPORA[domain]})",
        "held_out": list(HELD_OUT[domain]),
    }
    run_dir = os.path.dirname(os.path.abspath(trained_path))
    if os.path.isfile(os.path.join(run_dir, SETTINGS_NAME)):  # a run of experiments/train.py: how it was trained
        with open(os.path.join(run_dir, SETTINGS_NAME), encoding="utf-8") as handle:
            meta["training_flags"] = handle.read().split()
        with open(os.path.join(run_dir, HISTORY_NAME), encoding="utf-8") as handle:
            meta["epochs_run"] = sum(1 for _ in handle) - 1  # the run may stop before --epochs
    if data_root is not None:
        sources, _ = training_sources(data_root, domain)
        paths = [s.path for s in sources if s.split == "test"]
        summary = summarize(score_references(paths, ratio, {"model": model}, progress=progress))
        meta["scores"] = {method: {key: round(value, 3) for key, value in values.items()}
                          for method, values in summary.items()}
    write_json_atomic(os.path.join(out_dir, f"{name}.json"), meta)
    return meta
