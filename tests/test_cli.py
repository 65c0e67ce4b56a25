import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from scipy import signal

from audiosr import cli


def tone(seconds, rate, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * 2500 * t)
    columns = [left, 0.5 * np.sin(2 * np.pi * 330 * t)][:channels]
    return np.stack(columns, axis=1).astype(np.float32)


def band_limited_noise(seconds, rate, channels, band_hz=3800.0, seed=0):
    """Noise whose content stops at ``band_hz``: what a recording made at 2 * band_hz and resampled up holds."""
    noise = np.random.default_rng(seed).standard_normal((int(seconds * rate), channels))
    return (0.1 * signal.sosfiltfilt(signal.ellip(12, 0.1, 100, band_hz / (rate / 2), output="sos"), noise,
                                      axis=0)).astype(np.float32)


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def help_text(capsys, *argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(argv) + ["--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_help_reads_like_a_tool(capsys):
    top = help_text(capsys)
    for word in ("upsample", "evaluate", "info", "examples:", "carries its upsampling ratio"):
        assert word in top
    upsample = help_text(capsys, "upsample")
    for option in ("--output-dir", "--model", "--format", "--bit-depth", "--overwrite", "--precision",
                   "--chunk-seconds", "--input-band", "--keep-implausible", "exit status"):
        assert option in upsample
    evaluate = help_text(capsys, "evaluate")
    for option in ("--csv", "--plot", "--baseline", "--lowres", "SNR", "LSD", "input maker"):
        assert option in evaluate
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2


def test_upsample_batch_reports_each_bad_file_and_writes_the_others(capsys, tmp_path, model_path, test_corpus):
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    soundfile.write(inputs / "stereo.wav", band_limited_noise(1.5, 44100, 2), 44100)
    soundfile.write(inputs / "sub" / "low.flac", tone(2.0, 8000), 8000)
    (inputs / "words.wav").write_text("no sound here\n" * 30)
    (inputs / "empty.ogg").write_bytes(b"")
    soundfile.write(inputs / "nan.wav", np.full(4000, np.nan, np.float32), 8000, subtype="FLOAT")
    soundfile.write(inputs / "tiny.wav", np.zeros(3, np.float32), 8000)
    (inputs / "notes.txt").write_text("a folder may hold other files")
    real = test_corpus / "speech" / "tts" / "libritts_24k.flac"
    out = tmp_path / "out"
    status, _, err = run(capsys, "upsample", inputs, real, "-o", out, "-m", model_path, "-q")
    assert status == 1
    error_lines = [line for line in err.splitlines() if ": error: " in line]
    expected = {"words.wav": "not readable as audio", "empty.ogg": "empty file",
                "nan.wav": "NaN or infinite", "tiny.wav": "too short"}
    assert len(error_lines) == len(expected)
    for name, reason in expected.items():
        assert any(name in line and reason in line for line in error_lines), (name, err)
    assert re.search(r"stereo.wav: content up to 3.[89] kHz \(estimated; 44100 Hz file\): treated as 8000 Hz audio "
                     r"\(resampled from 44100 Hz\)", err)
    assert "libritts_24k.flac: content up to 12 kHz (estimated; 24000 Hz file): already reaches" in err
    stereo = soundfile.info(out / "stereo.wav")
    assert (stereo.samplerate, stereo.channels) == (16000, 2) and abs(stereo.duration - 1.5) < 0.01
    assert soundfile.info(out / "sub" / "low.wav").frames == 2 * 16000
    assert soundfile.read(out / "libritts_24k.wav")[0].tolist() == soundfile.read(real)[0].tolist()  # passed through
    assert sorted(p.name for p in out.rglob("*")) == ["libritts_24k.wav", "low.wav", "stereo.wav", "sub"]


@pytest.mark.parametrize(
    "options,suffix,subtype",
    [
        ([], "wav", "PCM_16"),
        (["--bit-depth", "float"], "wav", "FLOAT"),
        (["--format", "flac", "--bit-depth", "24"], "flac", "PCM_24"),
        (["--format", "ogg"], "ogg", "VORBIS"),
        (["--format", "mp3"], "mp3", "MPEG_LAYER_III"),
    ],
)
def test_output_format_and_bit_depth(capsys, tmp_path, model_path, options, suffix, subtype):
    soundfile.write(tmp_path / "a.wav", tone(1.0, 16000), 16000)
    status, _, err = run(capsys, "upsample", tmp_path / "a.wav", "-o", tmp_path / "out", "-m", model_path, "-q",
                         *options)
    assert status == 0, err
    info = soundfile.info(tmp_path / "out" / f"a.{suffix}")
    assert info.subtype == subtype and info.samplerate == 16000


@pytest.mark.parametrize("options", [["--format", "flac", "--bit-depth", "float"],
                                     ["--format", "ogg", "--bit-depth", "16"]])
def test_impossible_format_is_a_usage_error(capsys, tmp_path, model_path, options):
    soundfile.write(tmp_path / "a.wav", tone(1.0, 16000), 16000)
    status, _, err = run(capsys, "upsample", tmp_path / "a.wav", "-o", tmp_path / "out", "-m", model_path, *options)
    assert status == 2 and "bit" in err
    assert not (tmp_path / "out").exists()


def test_chunks_shorter_than_twice_the_overlap_are_a_usage_error(capsys, tmp_path, model_path):
    soundfile.write(tmp_path / "a.wav", tone(1.0, 8000), 8000)
    status, _, err = run(capsys, "upsample", tmp_path / "a.wav", "-o", tmp_path / "out", "-m", model_path,
                         "--chunk-seconds", "0.1")
    assert status == 2 and "--chunk-seconds must exceed" in err
    assert not (tmp_path / "out").exists()


def test_existing_outputs_and_inputs_are_never_replaced_unasked(capsys, tmp_path, model_path):
    soundfile.write(tmp_path / "a.wav", tone(1.0, 8000), 8000)
    out = tmp_path / "out"
    assert run(capsys, "upsample", tmp_path / "a.wav", "-o", out, "-m", model_path, "-q")[0] == 0
    (out / "a.wav").write_bytes(b"keep me")
    status, _, err = run(capsys, "upsample", tmp_path / "a.wav", "-o", out, "-m", model_path, "-q")
    assert status == 1 and "exists" in err and (out / "a.wav").read_bytes() == b"keep me"
    assert run(capsys, "upsample", tmp_path / "a.wav", "-o", out, "-m", model_path, "-q", "--overwrite")[0] == 0
    assert soundfile.info(out / "a.wav").samplerate == 16000
    before = (tmp_path / "a.wav").read_bytes()
    status, _, err = run(capsys, "upsample", tmp_path / "a.wav", "-o", tmp_path, "-m", model_path, "-q",
                         "--overwrite")
    assert status == 1 and "overwrite its input" in err
    assert (tmp_path / "a.wav").read_bytes() == before


def test_two_inputs_with_one_output_name_do_not_clobber_each_other(capsys, tmp_path, model_path):
    soundfile.write(tmp_path / "a.wav", tone(1.0, 8000), 8000)
    soundfile.write(tmp_path / "a.flac", tone(1.0, 16000), 16000)
    status, _, err = run(capsys, "upsample", tmp_path / "a.wav", tmp_path / "a.flac", "-o", tmp_path / "out",
                         "-m", model_path, "-q")
    assert status == 1 and "a.flac" in err and "already the output of" in err


def test_a_bad_model_file_is_a_usage_error(capsys, tmp_path):
    (tmp_path / "model.keras").write_text("nope")
    soundfile.write(tmp_path / "a.wav", tone(1.0, 8000), 8000)
    status, _, err = run(capsys, "upsample", tmp_path / "a.wav", "-o", tmp_path / "out", "-m", tmp_path / "model.keras")
    assert status == 2 and "model.keras" in err


def test_evaluate_prints_table_and_writes_csv_and_plots(capsys, tmp_path, model_path, test_corpus):
    references = [test_corpus / "speech" / "vctk" / "p257_167.flac", test_corpus / "speech" / "vctk" / "p243_023.flac"]
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio" * 50)
    status, out, err = run(capsys, "evaluate", "-m", model_path, *references, broken, "--csv", tmp_path / "s.csv",
                           "--plot", tmp_path / "plots", "--baseline", "spline", "--baseline", "sinc", "-q")
    assert status == 1 and "broken.wav" in err
    lines = out.splitlines()
    assert "x2" in lines[0] and "16000 Hz" in lines[0]
    assert "spline" in lines[1] and "sinc" in lines[1] and "tiny_x2" in lines[1]
    body = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[3:5]}
    assert set(body) == {"p257_167.flac", "p243_023.flac"}
    assert all(len(values) == 6 for values in body.values())
    mean_line = lines[5]
    assert mean_line.startswith("mean of 2 file(s)")
    spline_mean = float(mean_line.split()[4])
    assert spline_mean == pytest.approx(np.mean([v[0] for v in body.values()]), abs=0.01)
    with open(tmp_path / "s.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and {r["method"] for r in rows} == {"spline", "sinc", "tiny_x2"}
    assert sorted(os.listdir(tmp_path / "plots")) == ["p243_023.png", "p257_167.png"]


def test_evaluate_prints_one_table_per_input_maker(capsys, tmp_path, model_path, test_corpus):
    reference = test_corpus / "speech" / "vctk" / "p257_167.flac"
    status, out, _ = run(capsys, "evaluate", "-m", model_path, reference, "--lowres", "decimate, soxr,telephone",
                         "--csv", tmp_path / "s.csv", "-q")
    assert status == 0
    tables = out.split("\n\n")
    assert [t.splitlines()[0].split("input made by ")[1].split(":")[0] for t in tables] == [
        "decimate", "soxr", "telephone"]
    status, default, _ = run(capsys, "evaluate", "-m", model_path, reference, "-q")
    assert status == 0 and default.strip() == tables[0].strip()  # decimate is the default and today's table
    means = [[float(v) for v in t.splitlines()[-1].split()[4:]] for t in tables]  # "mean of 1 file(s) ..."
    assert means[0] != means[1] != means[2]
    with open(tmp_path / "s.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["file", "lowres", "method", "snr", "lsd"]
    assert [(r["lowres"], r["method"]) for r in rows] == [
        (maker, method) for maker in ("decimate", "soxr", "telephone") for method in ("spline", "tiny_x2")]


def test_evaluate_refuses_an_unknown_input_maker_in_one_line(capsys, model_path, test_corpus):
    status, out, err = run(capsys, "evaluate", "-m", model_path, test_corpus / "speech" / "vctk" / "p257_167.flac",
                           "--lowres", "decimate,sox")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "unknown low-rate method 'sox'" in err


@pytest.mark.slow
def test_info_names_ratio_and_rates_without_tensorflow_chatter(model_path):
    result = subprocess.run([sys.executable, "-m", "audiosr.cli", "info", str(model_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "x2: 8000 Hz in, 16000 Hz out" in result.stdout
    assert result.stderr == ""
