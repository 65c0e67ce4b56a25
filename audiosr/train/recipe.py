"""The recipe of the shipped models: which recordings train them and which are held out, by speaker.

The shipped models (:mod:`audiosr.pretrained`) are trained on the speech or
the music of a folder laid out as ``speech/<corpus>/...`` and
``music/...`` (the public recordings ``make pretrained`` reads). Scores
must come from people and pieces a model never heard, so recordings are
grouped by speaker (by piece for music) and whole groups go to the test
and validation splits: a seeded draw within each corpus, so every corpus is
represented in the held-out set. Each corpus' name and licence travel into
the shipped model's card.
"""

import os
import re

from audiosr.data.corpora import Source, assign_groups, audio_in_folder

DOMAINS = ("speech", "music")
TEST_FRACTION, VAL_FRACTION, SPLIT_SEED = 0.1, 0.05, 0

# speech/<folder>: (corpus, licence).
SPEECH_CORPORA = {
    "vctk": ("VCTK (CSTR, University of Edinburgh)", "CC BY 4.0"),
    "vctk-extra": ("VCTK (CSTR, University of Edinburgh)", "CC BY 4.0"),
    "librispeech": ("LibriSpeech (Panayotov et al.)", "CC BY 4.0"),
    "speechocean762": ("speechocean762 (Zhang et al.)", "Apache-2.0"),
    "arctic": ("CMU ARCTIC (Carnegie Mellon University)", "CMU ARCTIC licence (permissive, attribution)"),
    "tts": ("HiFi-TTS and LibriTTS", "CC BY 4.0"),
    "freesound": ("sms-tools sound pack (MTG-UPF, freesound.org)", "CC BY 4.0"),
}
# music/<file name pattern>: (corpus, licence); the first that matches.
MUSIC_CORPORA = (
    (r"Kevin_MacLeod_", ("Kevin MacLeod", "CC BY 3.0")),
    (r"Karissa_Hobbs_", ("Karissa Hobbs", "CC BY 3.0")),
    (r"Sectoid_", ("Sectoid (Carlos Viola Iborra)", "MIT")),
    (r"Kimiko_Ishizaka_", ("Kimiko Ishizaka, Open Well-Tempered Clavier", "CC0 1.0")),
    (r"sms-tools_", ("sms-tools sound pack (MTG-UPF, freesound.org)", "CC BY 4.0")),
    (r"", ("Sonic Pi samples (freesound uploaders)", "CC0 1.0")),
)
# Files of speech/vctk named by the paper that published them, and the VCTK speaker they are.
VCTK_NAMED = {"nuwave_single_": "p225"}


def group_of(relative):
    """The speaker (speech) or piece (music) of a recording, from its path relative to the data root.

    LibriSpeech ``<speaker>-<chapter>-<utterance>``, VCTK ``p<NNN>_...``,
    speechocean762 and CMU ARCTIC ``<speaker>_...``; a recording of an
    unknown speaker (a published sample set, a TTS corpus) is its own group
    by its name up to ``__sample``; every music file is one piece.
    """
    parts = relative.replace(os.sep, "/").split("/")
    name = os.path.splitext(parts[-1])[0]
    if parts[0] == "music":
        return f"music:{name}"
    corpus = parts[1] if len(parts) > 2 else "other"
    if corpus == "librispeech":
        return f"librispeech:{name.split('-')[0]}"
    if corpus in ("vctk", "vctk-extra"):
        for prefix, speaker in VCTK_NAMED.items():
            if name.startswith(prefix):
                return f"vctk:{speaker}"
        match = re.match(r"(p\d{3})_", name)
        return f"vctk:{match.group(1)}" if match else f"vctk:{name.split('__sample')[0]}"
    if corpus in ("speechocean762", "arctic"):
        return f"{corpus}:{name.split('_')[0]}"
    return f"{corpus}:{name}"


def corpus_of(relative):
    """``(corpus name, licence)`` of a recording, by its path relative to the data root."""
    parts = relative.replace(os.sep, "/").split("/")
    if parts[0] == "music":
        return next(value for pattern, value in MUSIC_CORPORA if re.match(pattern, parts[-1]))
    return SPEECH_CORPORA.get(parts[1], (parts[1], "see the data set's own licence"))


def training_sources(data_root, domain):
    """``(sources, skipped)`` of ``domain`` ("speech" or "music") under ``data_root``, split by speaker / piece.

    Within each corpus (each ``speech/<folder>``; all of ``music``), a seeded
    draw puts 10 % of the groups in "test" and 5 % in "validation", at least
    one each; ``Source.group`` is the speaker or piece. ``skipped`` lists what
    is not usable audio (other files, broken links) with its reason.
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; choose from {DOMAINS}")
    audio, skipped = audio_in_folder(os.path.join(data_root, domain))
    relative = {path: os.path.relpath(path, data_root) for path in audio}
    groups = {path: group_of(rel) for path, rel in relative.items()}
    by_corpus = {}
    for path, rel in relative.items():
        by_corpus.setdefault(rel.split(os.sep)[1] if domain == "speech" else "music", set()).add(groups[path])
    split_of = {}
    for corpus_groups in by_corpus.values():
        if len(corpus_groups) < 3:  # too few speakers to hold any out: all train
            split_of.update({group: "train" for group in corpus_groups})
        else:
            split_of.update(assign_groups(corpus_groups, VAL_FRACTION, TEST_FRACTION, SPLIT_SEED))
    return [Source(path, split_of[groups[path]], groups[path]) for path in audio], skipped


def held_out(sources, split="test"):
    """The sorted groups (speakers or pieces) of ``split`` among ``sources``."""
    return sorted({source.group for source in sources if source.split == split})


def data_sources(sources, data_root):
    """``[{"corpus", "licence", "files", "seconds"...}]``: what the training split of ``sources`` is made of."""
    summary = {}
    for source in sources:
        if source.split != "train":
            continue
        corpus, licence = corpus_of(os.path.relpath(source.path, data_root))
        entry = summary.setdefault(corpus, {"corpus": corpus, "licence": licence, "files": 0, "groups": set()})
        entry["files"] += 1
        entry["groups"].add(source.group)
    return [{"corpus": e["corpus"], "licence": e["licence"], "files": e["files"],
             "speakers_or_pieces": len(e["groups"])} for e in summary.values()]


# ------------------------------------------------------------------ the gate a model must pass to ship

# Inputs made by resampling (every real resampler, and the study's decimation): a model must beat spline on both.
BEAT_SPLINE = ("decimate", "soxr", "polyphase", "fft")
# Inputs delayed by a causal filter (a phone, an analogue chain): SNR measures the delay more than the band, so
# a model must not be worse than spline there: LSD no higher, SNR no more than this many dB lower (a thousandth
# of the error energy spline already has at the SNRs these inputs give, 2-3 dB or below).
NO_WORSE = ("butter-causal", "telephone")
NO_WORSE_TOLERANCE_DB = 0.1


def gate(scores):
    """Why a model may not ship: one line per failure (empty: it passes).

    ``scores``: {input maker: {"spline": {"snr", "lsd"}, "model": {"snr", "lsd"}}}, whole held-out files.
    """
    failures = []
    for maker in BEAT_SPLINE + NO_WORSE:
        if maker not in scores:
            failures.append(f"{maker}: not scored")
            continue
        spline, model = scores[maker]["spline"], scores[maker]["model"]
        snr_margin, lsd_ratio = model["snr"] - spline["snr"], model["lsd"] / spline["lsd"]
        beat = maker in BEAT_SPLINE
        if not (snr_margin > 0 if beat else snr_margin >= -NO_WORSE_TOLERANCE_DB):
            failures.append(f"{maker}: SNR {snr_margin:+.2f} dB against spline")
        if not (lsd_ratio < 1 if beat else lsd_ratio <= 1):
            failures.append(f"{maker}: LSD {lsd_ratio:.2f}x spline's")
    return failures
