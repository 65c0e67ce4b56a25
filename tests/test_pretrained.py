"""The shipped models: chosen by the input's rate, listed, and better than spline on held-out recordings."""

import fnmatch
import os

import numpy as np
import pytest
import soundfile

from audiosr import cli, planning, pretrained
from audiosr.audio_io import load_audio
from audiosr.evaluation.scoring import score_references, summarize
from audiosr.inference import load_model

# Left out of training (audiosr.pretrained.HELD_OUT): VCTK p225 and p257, LibriSpeech 1926; whole files of
# the larger corpus (the shared_data fixture), as the shipped models' metadata scores them.
HELD_OUT_FILES = ("speech/vctk/p257_166.flac", "speech/vctk/nuwave_single_x2__sample_0.flac",
                  "speech/librispeech/1926-143879-0000.flac")
SPEECH = "speech/vctk/p257_166.flac"  # in the test corpus: 1.5 s of a held-out speaker


def test_held_out_recordings_are_never_trained_on(shared_data):
    for domain, patterns in pretrained.HELD_OUT.items():
        sources, skipped = pretrained.training_sources(shared_data, domain)
        assert all(item["reason"] for item in skipped)  # whatever is passed over says why
        held = [os.path.relpath(s.path, shared_data) for s in sources if s.split == "test"]
        for pattern in patterns:
            assert any(fnmatch.fnmatch(path, pattern) for path in held), pattern
        trained = [os.path.relpath(s.path, shared_data) for s in sources if s.split != "test"]
        assert trained and not any(fnmatch.fnmatch(p, pattern) for p in trained for pattern in patterns)
    speech, _ = pretrained.training_sources(shared_data, "speech")
    assert set(HELD_OUT_FILES) <= {os.path.relpath(s.path, shared_data) for s in speech if s.split == "test"}


@pytest.mark.parametrize("rate, band, expected", [
    (8000, 4000, "speech-r2"), (4000, 2000, "speech-r4"), (6000, 3000, "speech-r2"), (3000, 1500, "speech-r4"),
    (44100, 3900, "speech-r2"), (16000, 1900, "speech-r4"), (16000, 8000, None), (44100, 22050, None),
])
def test_the_shipped_model_is_chosen_by_the_band(rate, band, expected):
    chosen = planning.plan(rate, band, pretrained.candidates()).model
    assert (chosen.name if chosen else None) == expected


def test_shipped_models_carry_their_rates_and_are_small():
    models = pretrained.catalog()
    assert {"speech-r2", "speech-r4"} <= set(models)
    for name, meta in models.items():
        path = pretrained.model_path(name)
        assert os.path.getsize(path) < 4 * 2 ** 20
        model = load_model(path)
        assert (model.ratio, model.sample_rate) == (meta["ratio"], meta["output_rate"])
        assert meta["input_rate"] == model.sample_rate / model.ratio
        assert meta["scores"]["model"]["snr"] > meta["scores"]["spline"]["snr"]


@pytest.mark.parametrize("name", ["speech-r2", "speech-r4"])
def test_shipped_model_beats_spline_on_held_out_speech(shared_data, name):
    model = load_model(pretrained.model_path(name))
    rows = score_references([shared_data / f for f in HELD_OUT_FILES], model.ratio, {name: model},
                               progress=False)
    summary = summarize(rows)
    assert summary[name]["files"] == len(HELD_OUT_FILES)
    assert summary[name]["snr"] > summary["spline"]["snr"] + 0.5
    assert summary[name]["lsd"] < 0.8 * summary["spline"]["lsd"]


def test_upsample_without_a_model_uses_the_one_for_each_rate(capsys, tmp_path, test_corpus):
    speech = load_audio(test_corpus / SPEECH, target_rate=16000)[0][:16000]
    for rate in (8000, 4000):
        soundfile.write(tmp_path / f"talk{rate}.wav", speech[:: 16000 // rate], rate)
    status = cli.main(["upsample", str(tmp_path / "talk8000.wav"), str(tmp_path / "talk4000.wav"),
                       "-o", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "talk8000.wav: content up to 4 kHz (estimated; 8000 Hz file): treated as 8000 Hz audio, upsampled " \
           "with speech-r2" in err
    assert "talk4000.wav: content up to 2 kHz (estimated; 4000 Hz file): treated as 4000 Hz audio, upsampled " \
           "with speech-r4" in err
    for rate in (8000, 4000):
        audio, out_rate = soundfile.read(tmp_path / "out" / f"talk{rate}.wav")
        assert out_rate == 16000 and audio.shape == (16000,) and np.std(audio) > 0.01


def test_model_names_work_wherever_a_model_file_does(capsys, tmp_path, test_corpus):
    status = cli.main(["evaluate", "-m", "speech-r4", str(test_corpus / SPEECH), "-q"])
    out = capsys.readouterr().out
    assert status == 0 and "x4 super-resolution" in out and "speech-r4" in out
    assert cli.main(["upsample", str(test_corpus / SPEECH), "-o", str(tmp_path), "--model", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_models_lists_ratio_rates_data_and_scores(capsys):
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "speech-r2: x2, 8000 Hz -> 16000 Hz" in out and "speech-r4: x4, 4000 Hz -> 16000 Hz" in out
    assert out.count("held-out whole files") == len(pretrained.catalog())
    assert "LibriSpeech" in out
