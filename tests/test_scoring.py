import csv
import logging

import keras
import numpy as np
import pytest
import soundfile

from audiosr.audio_io import AudioFileError, load_audio
from audiosr.baselines import sinc_upsample
from audiosr.evaluation import scoring
from audiosr.inference import enhance
from audiosr.lowres import decimate, simulate_lowres
from audiosr.metrics import lsd, snr
from audiosr.models import UNetSR, build_model

REFERENCES = ["speech/vctk/p257_166.flac", "speech/vctk/nuwave_single_x2__sample_1.flac"]


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(3)
    return build_model("unet", 2, preset="tiny")


@pytest.fixture
def references(test_corpus):
    return [test_corpus / name for name in REFERENCES]


def identity_model(ratio=2):
    """A model whose output is its spline input: it must score exactly like the spline."""
    return UNetSR(keras.Sequential([keras.Input((None, 1)), keras.layers.Identity()]), ratio=ratio)


def test_rows_score_every_method_on_every_whole_file(tiny, references):
    rows = scoring.score_references(references, 2, {"tiny": tiny, "same": identity_model()},
                                          baselines=("spline", "sinc"), progress=False)
    assert [(r["file"], r["method"]) for r in rows] == [
        (str(path), method) for path in references for method in ("spline", "sinc", "tiny", "same")
    ]
    y, _ = load_audio(references[0], target_rate=16000)
    first = {row["method"]: row for row in rows[:4]}
    spline = simulate_lowres(y, 2)
    assert first["spline"]["snr"] == pytest.approx(snr(y, spline))
    assert first["spline"]["lsd"] == pytest.approx(lsd(y, spline))
    assert first["sinc"]["snr"] == pytest.approx(snr(y, sinc_upsample(decimate(y, 2), 2, len(y))))
    assert first["tiny"]["snr"] == pytest.approx(snr(y, enhance(tiny, spline)))
    for row_spline, row_same in zip(rows[0::4], rows[3::4]):
        assert row_same["snr"] == pytest.approx(row_spline["snr"], abs=1e-4)
        assert row_same["lsd"] == pytest.approx(row_spline["lsd"], abs=1e-4)
    # Real speech at x2: interpolation keeps the strong low band, so SNR is well above 0 dB.
    assert all(r["snr"] > 3.0 and np.isfinite(r["lsd"]) for r in rows if r["method"] == "spline")


def test_bad_references_are_skipped_and_reported(tiny, references, tmp_path, caplog):
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"fLaC but nothing else")
    short = tmp_path / "short.wav"
    soundfile.write(short, np.zeros(500, np.float32), 16000)
    errors = []
    with caplog.at_level(logging.WARNING, logger="audiosr"):
        rows = scoring.score_references([broken, references[0], short], 2, {"tiny": tiny},
                                              progress=False, errors=errors)
    assert {r["file"] for r in rows} == {str(references[0])}
    assert [e.path for e in errors] == [str(broken), str(short)]
    assert all(isinstance(e, AudioFileError) for e in errors)
    assert "too short" in str(errors[1])
    assert str(broken) in caplog.text and str(short) in caplog.text


def test_summarize_averages_per_method():
    rows = [
        {"file": "a", "method": "spline", "snr": 10.0, "lsd": 2.0},
        {"file": "a", "method": "net", "snr": 14.0, "lsd": 1.0},
        {"file": "b", "method": "spline", "snr": 12.0, "lsd": 3.0},
        {"file": "b", "method": "net", "snr": 15.0, "lsd": 1.5},
    ]
    summary = scoring.summarize(rows)
    assert list(summary) == ["spline", "net"]
    assert summary["spline"] == {"snr": 11.0, "lsd": 2.5, "files": 2}
    assert summary["net"] == {"snr": 14.5, "lsd": 1.25, "files": 2}


def test_models_for_another_ratio_are_refused(tiny, references):
    with pytest.raises(ValueError, match="x2"):
        scoring.score_references(references, 4, {"tiny": tiny}, progress=False)


def test_unknown_baseline_is_refused(references):
    with pytest.raises(ValueError, match="unknown baselines"):
        scoring.score_references(references, 2, {}, baselines=("linear",), progress=False)


def test_csv_holds_every_row(tmp_path, tiny, references):
    rows = scoring.score_references(references[:1], 2, {"tiny": tiny}, progress=False)
    path = tmp_path / "deep" / "scores.csv"
    scoring.write_scores_csv(rows, path)
    with open(path, newline="") as handle:
        back = list(csv.DictReader(handle))
    assert [(r["file"], r["method"]) for r in back] == [(r["file"], r["method"]) for r in rows]
    assert [float(r["snr"]) for r in back] == pytest.approx([r["snr"] for r in rows])
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".partial-")]
