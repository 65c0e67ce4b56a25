"""The shipped models' recipe: speakers (pieces) never straddle splits, every corpus is held out from, the gate."""

import os

import pytest

from audiosr.train import recipe


@pytest.mark.parametrize("relative, group", [
    ("speech/librispeech/1502-122615-0000.flac", "librispeech:1502"),
    ("speech/vctk-extra/p228_023.flac", "vctk:p228"),
    ("speech/vctk/p257_166.flac", "vctk:p257"),
    ("speech/vctk/nuwave_single_x2__sample_0.flac", "vctk:p225"),  # a published sample set of p225
    ("speech/vctk/nuwave_multi_x2__sample_3.flac", "vctk:nuwave_multi_x2"),
    ("speech/speechocean762/9600_096000007.flac", "speechocean762:9600"),
    ("speech/arctic/axb_a0004.flac", "arctic:axb"),
    ("speech/tts/hifitts_44k.flac", "tts:hifitts_44k"),
    ("music/Sectoid_-_Feelings.flac", "music:Sectoid_-_Feelings"),
])
def test_recordings_are_grouped_by_speaker_or_piece(relative, group):
    assert recipe.group_of(relative) == group


def test_every_corpus_has_a_name_and_a_licence():
    assert recipe.corpus_of("speech/librispeech/1-2-3.flac") == ("LibriSpeech (Panayotov et al.)", "CC BY 4.0")
    assert recipe.corpus_of("music/Sectoid_-_Feelings.flac")[1] == "MIT"
    assert recipe.corpus_of("music/loop_amen_full.flac")[1] == "CC0 1.0"


@pytest.mark.parametrize("domain", recipe.DOMAINS)
def test_held_out_speakers_never_train_and_every_corpus_is_held_out_from(shared_data, domain):
    sources, skipped = recipe.training_sources(shared_data, domain)
    assert all(item["reason"] for item in skipped)  # whatever is passed over says why
    splits = {}
    for source in sources:
        splits.setdefault(source.group, set()).add(source.split)
    assert all(len(s) == 1 for s in splits.values())  # a speaker (piece) is in one split only
    corpora = {os.path.relpath(s.path, shared_data).split(os.sep)[1] for s in sources if domain == "speech"}
    for corpus in corpora:
        groups = {s.group for s in sources if os.path.relpath(s.path, shared_data).split(os.sep)[1] == corpus}
        held = {s.group for s in sources if s.group in groups and s.split == "test"}
        assert held or len(groups) < 3, corpus
    assert recipe.held_out(sources) and recipe.held_out(sources, "val")
    assert recipe.training_sources(shared_data, domain)[0] == sources  # the draw is seeded: the same every time


def scores(**margins):
    """Scores where the model's SNR margin over spline is ``margins[maker]`` (default +1) and LSD half spline's."""
    return {maker: {"spline": {"snr": 10.0, "lsd": 2.0}, "model": {"snr": 10.0 + margins.get(maker, 1.0), "lsd": 1.0}}
            for maker in recipe.BEAT_SPLINE + recipe.NO_WORSE}


def test_the_gate_passes_a_model_that_beats_spline_and_names_each_failure():
    assert recipe.gate(scores()) == []
    assert recipe.gate(scores(soxr=0.0)) == ["soxr: SNR +0.00 dB against spline"]  # beating means more, not equal
    assert recipe.gate(scores(telephone=-0.05)) == []  # no worse: within the stated tolerance
    assert recipe.gate(scores(telephone=-0.2)) == ["telephone: SNR -0.20 dB against spline"]
    worse_lsd = scores()
    worse_lsd["fft"]["model"]["lsd"] = 2.5
    assert recipe.gate(worse_lsd) == ["fft: LSD 1.25x spline's"]
    missing = scores()
    del missing["decimate"]
    assert recipe.gate(missing) == ["decimate: not scored"]
