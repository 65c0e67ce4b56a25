"""The shipped models: what their metadata promises, how they are chosen, and what `audiosr upsample` does with
them on speakers they never heard, for low-rate files made by each common input maker."""

import importlib.util
import json
import os
import re

import numpy as np
import pytest
import soundfile

from audiosr import cli, lowres, metrics, planning, pretrained
from audiosr.audio_io import load_audio
from audiosr.inference import load_model
from audiosr.train import recipe

SHIPPED = ("speech-r2", "speech-r4")
MAKERS = recipe.BEAT_SPLINE + recipe.NO_WORSE


def corpus_clips():
    """tests/corpus/make_corpus.py's CLIPS: (source in the larger corpus, file here, start, seconds, collection)."""
    path = os.path.join(os.path.dirname(__file__), "corpus", "make_corpus.py")
    spec = importlib.util.spec_from_file_location("make_corpus", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CLIPS


HELD_OUT = {dest: source for source, dest, *_ in corpus_clips() if dest.startswith("speech/held-out/")}


def test_the_held_out_excerpts_come_from_speakers_the_models_never_trained_on(shared_data):
    sources, _ = recipe.training_sources(shared_data, "speech")
    split_of = {os.path.relpath(s.path, shared_data): s.split for s in sources}
    groups = {split: {recipe.group_of(path) for path, s in split_of.items() if s == split}
              for split in ("train", "val", "test")}
    assert len(HELD_OUT) >= 5
    for source in HELD_OUT.values():
        assert split_of[source] == "test"
        assert recipe.group_of(source) not in groups["train"] | groups["val"]
    for name in SHIPPED:
        assert {recipe.group_of(s) for s in HELD_OUT.values()} <= set(pretrained.catalog()[name]["held_out"]["groups"])


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_metadata_passes_the_gate_and_says_what_ran(name):
    meta = pretrained.catalog()[name]
    assert recipe.gate(meta["scores"]) == []  # every maker scored, resamplers beaten, causal inputs no worse
    assert meta["training"]["lowres"] == "real" and meta["training"]["steps"] > 0
    assert meta["held_out"]["files"] >= 30 and len(meta["held_out"]["groups"]) >= 20
    assert {entry["corpus"].split(" ")[0] for entry in meta["data"]} >= {"LibriSpeech", "VCTK", "speechocean762"}
    text = json.dumps(meta)
    assert "/work/" not in text and "/tmp/" not in text and "../" not in text  # nothing of the machine it ran on
    card = pretrained.model_card(name)
    assert card.startswith(f"# {name}") and "| soxr |" in card and "| telephone |" in card
    path = pretrained.model_path(name)
    assert os.path.getsize(path) < 4 * 2 ** 20
    model = load_model(path)
    assert (model.ratio, model.sample_rate) == (meta["ratio"], meta["output_rate"])
    assert meta["input_rate"] == model.sample_rate / model.ratio


@pytest.mark.parametrize("rate, band, expected", [
    (8000, 4000, "speech-r2"), (4000, 2000, "speech-r4"), (6000, 3000, "speech-r2"), (3000, 1500, "speech-r4"),
    (44100, 3900, "speech-r2"), (16000, 1900, "speech-r4"), (16000, 8000, None), (44100, 22050, None),
])
def test_the_shipped_model_is_chosen_by_the_band(rate, band, expected):
    chosen = planning.plan(rate, band, pretrained.candidates()).model
    assert (chosen.name if chosen else None) == expected


def held_out_speech(test_corpus):
    """{excerpt name: 16 kHz audio} of the held-out excerpts."""
    return {os.path.basename(dest): load_audio(test_corpus / dest, target_rate=16000)[0] for dest in HELD_OUT}


@pytest.fixture(scope="module")
def upsampled_by_maker(tmp_path_factory, test_corpus):
    """`audiosr upsample` (no model named) on every held-out excerpt made low-rate by every maker, both ratios:
    {(ratio, maker): [(truth, spline of the low-rate file, output)]}."""
    folder = tmp_path_factory.mktemp("makers")
    speech = held_out_speech(test_corpus)
    cases = {}
    for ratio in (2, 4):
        paths = []
        for maker in MAKERS:
            for name, truth in speech.items():
                truth = truth[:len(truth) // ratio * ratio]
                low = lowres.lowrate(truth, ratio, maker, rng=np.random.default_rng(0))
                path = folder / f"x{ratio}" / f"{maker}-{name.replace('.flac', '.wav')}"
                path.parent.mkdir(exist_ok=True)
                soundfile.write(path, low, 16000 // ratio, subtype="FLOAT")
                paths.append(path)
                cases.setdefault((ratio, maker), []).append((truth, lowres.model_input(low, ratio, len(truth)), path))
        status = cli.main(["upsample", *map(str, paths), "-o", str(folder / f"out{ratio}"), "-q",
                           "--bit-depth", "float"])
        assert status == 0
    result = {}
    for (ratio, maker), items in cases.items():
        result[(ratio, maker)] = [(truth, spline, soundfile.read(path.parent.parent / f"out{ratio}" / path.name,
                                                                 dtype="float32")[0])
                                  for truth, spline, path in items]
    return result


@pytest.mark.parametrize("ratio", [2, 4])
def test_upsample_beats_spline_on_held_out_speakers_for_every_input_maker(upsampled_by_maker, ratio):
    scores = {}
    for maker in MAKERS:
        items = upsampled_by_maker[(ratio, maker)]
        for truth, _, output in items:
            assert output.shape == truth.shape
            assert np.abs(output).max() < 1.0  # nothing clipped
        scores[maker] = {kind: {"snr": np.mean([metrics.snr(t, e) for t, e in estimates]),
                                "lsd": np.mean([metrics.lsd(t, e) for t, e in estimates])}
                         for kind, estimates in (("spline", [(t, s) for t, s, _ in items]),
                                                 ("model", [(t, o) for t, _, o in items]))}
    table = "\n".join(f"{m}: {s['model']['snr'] - s['spline']['snr']:+.2f} dB, "
                      f"LSD {s['model']['lsd'] / s['spline']['lsd']:.2f}x" for m, s in scores.items())
    assert recipe.gate(scores) == [], table


def test_upsample_without_a_model_uses_the_one_for_each_rate(capsys, tmp_path, test_corpus):
    speech = load_audio(test_corpus / "speech/held-out/p273_023.flac", target_rate=16000)[0][:16000]
    for rate in (8000, 4000):
        soundfile.write(tmp_path / f"talk{rate}.wav", lowres.lowrate(speech, 16000 // rate, "soxr"), rate)
    status = cli.main(["upsample", str(tmp_path / "talk8000.wav"), str(tmp_path / "talk4000.wav"),
                       "-o", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert re.search(r"talk8000.wav: content up to [\d.]+ kHz \(estimated; 8000 Hz file\): treated as 8000 Hz audio, "
                     "upsampled with speech-r2", err), err
    assert re.search(r"talk4000.wav: content up to [\d.]+ kHz \(estimated; 4000 Hz file\): treated as 4000 Hz audio, "
                     "upsampled with speech-r4", err), err
    assert "does not fit" not in err  # the models' output is kept for a soxr-made file
    for rate in (8000, 4000):
        audio, out_rate = soundfile.read(tmp_path / "out" / f"talk{rate}.wav")
        assert out_rate == 16000 and audio.shape == (16000,) and np.std(audio) > 0.01


def test_model_names_work_wherever_a_model_file_does(capsys, tmp_path, test_corpus):
    speech = test_corpus / "speech/held-out/p273_023.flac"
    status = cli.main(["evaluate", "-m", "speech-r4", str(speech), "-q"])
    out = capsys.readouterr().out
    assert status == 0 and "x4 super-resolution" in out and "speech-r4" in out
    assert cli.main(["upsample", str(speech), "-o", str(tmp_path), "--model", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_models_lists_rates_data_and_scores_per_input_maker(capsys):
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "speech-r2: x2, 8000 Hz -> 16000 Hz" in out and "speech-r4: x4, 4000 Hz -> 16000 Hz" in out
    assert "LibriSpeech" in out
    for maker in MAKERS:
        assert len(re.findall(rf"^ +{maker} +SNR .* \(spline .*LSD", out, flags=re.M)) == len(pretrained.catalog())


def test_info_prints_the_model_card(capsys):
    assert cli.main(["info", "speech-r2"]) == 0
    out = capsys.readouterr().out
    assert "ratio            x2: 8000 Hz in, 16000 Hz out" in out
    assert out.rstrip().endswith(pretrained.model_card("speech-r2").rstrip())
