"""Bad inputs and interruptions end in one line that names the file, a meaningful exit status and no debris."""

import hashlib
import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile

from audiosr import cli, inference
from audiosr.data import prepare
from audiosr.data.records import Manifest, Split

ROOT = pathlib.Path(__file__).resolve().parents[1]


def tone(seconds, rate):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * 2500 * t)).astype(np.float32)


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def error_lines(err):
    return [line for line in err.splitlines() if line.startswith("audiosr: error: ")]


def partials(folder):
    return sorted(p.name for p in pathlib.Path(folder).glob(".partial-*"))


def unwritable(tmp_path):
    """A path no one can create, not even root: it lies under a regular file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    return blocker / "out"


# --------------------------------------------------------------------- evaluate


def test_a_silent_reference_is_skipped_with_its_reason_and_the_mean_stays_finite(capsys, tmp_path, model_path):
    soundfile.write(tmp_path / "speech.wav", tone(1.0, 16000), 16000)
    soundfile.write(tmp_path / "silence.wav", np.zeros(16000, np.float32), 16000)
    status, out, err = run(capsys, "evaluate", "-m", model_path, tmp_path / "silence.wav", tmp_path / "speech.wav",
                           "-q")
    assert status == 1
    (line,) = error_lines(err)[:1]
    assert "silence.wav" in line and "silent" in line and "SNR" in line
    mean = next(line for line in out.splitlines() if line.startswith("mean of"))
    assert mean.startswith("mean of 1 file(s)")
    values = [float(v) for v in mean.split()[4:]]
    assert len(values) == 4 and all(np.isfinite(values))
    assert "silence.wav" not in out


def test_an_unwritable_csv_is_one_line_after_the_table(capsys, tmp_path, model_path):
    soundfile.write(tmp_path / "speech.wav", tone(1.0, 16000), 16000)
    target = unwritable(tmp_path) / "scores.csv"
    status, out, err = run(capsys, "evaluate", "-m", model_path, tmp_path / "speech.wav", "--csv", target, "-q")
    assert status == 1
    assert "mean of 1 file(s)" in out  # the table is still printed
    assert error_lines(err) == [f"audiosr: error: cannot write {target}: Not a directory"]
    assert "Traceback" not in err and ".partial-" not in err


def test_an_unwritable_plot_folder_is_one_line_and_scoring_goes_on(capsys, tmp_path, model_path):
    for name in ("a.wav", "b.wav"):
        soundfile.write(tmp_path / name, tone(1.0, 16000), 16000)
    target = unwritable(tmp_path)
    status, out, err = run(capsys, "evaluate", "-m", model_path, tmp_path / "a.wav", tmp_path / "b.wav",
                           "--plot", target, "-q")
    assert status == 1
    assert "mean of 2 file(s)" in out
    (line,) = error_lines(err)
    assert line.startswith(f"audiosr: error: cannot write {target / 'a.png'}: Not a directory")
    assert "Traceback" not in err


# --------------------------------------------------------------------- upsample


def test_an_unwritable_output_folder_names_the_input_and_the_asked_for_output(capsys, tmp_path, model_path):
    soundfile.write(tmp_path / "a.wav", tone(1.0, 8000), 8000)
    out_dir = unwritable(tmp_path)
    status, _, err = run(capsys, "upsample", tmp_path / "a.wav", "-o", out_dir, "-m", model_path, "-q")
    assert status == 1
    assert error_lines(err) == [
        f"audiosr: error: {tmp_path / 'a.wav'}: cannot write {out_dir / 'a.wav'}: Not a directory"]


def test_a_refused_temporary_file_is_reported_under_the_output_name(capsys, tmp_path, model_path, monkeypatch):
    """A folder that refuses new files (read-only mount, /sys) fails at the temporary file: the user never
    asked for that name."""
    import tempfile

    def refuse(prefix, suffix, dir):
        raise PermissionError(13, "Permission denied", os.path.join(dir, f"{prefix}abcdefgh{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    soundfile.write(tmp_path / "a.wav", tone(1.0, 8000), 8000)
    status, _, err = run(capsys, "upsample", tmp_path / "a.wav", "-o", tmp_path / "out", "-m", model_path, "-q")
    assert status == 1
    assert error_lines(err) == [
        f"audiosr: error: {tmp_path / 'a.wav'}: cannot write {tmp_path / 'out' / 'a.wav'}: Permission denied"]


@pytest.mark.parametrize("option,value", [("--chunk-seconds", "nan"), ("--chunk-seconds", "inf"),
                                          ("--chunk-seconds", "-inf"), ("--chunk-seconds", "1e308"),
                                          ("--chunk-seconds", "0"), ("--batch-size", "nan"),
                                          ("--batch-size", "0")])
def test_non_finite_or_out_of_range_numbers_are_usage_errors(capsys, tmp_path, model_path, option, value):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["upsample", str(tmp_path / "a.wav"), "-o", str(tmp_path / "out"), "-m", str(model_path),
                  f"{option}={value}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and value in err and "Traceback" not in err


def test_a_stale_partial_of_a_killed_run_is_removed_and_a_live_ones_kept(capsys, tmp_path, model_path):
    out = tmp_path / "out"
    # A real writer killed with SIGKILL halfway through its output.
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        import numpy as np
        from audiosr.audio_io import AtomicAudioWriter
        with AtomicAudioWriter({str(out / 'a.wav')!r}, 16000, 1) as w:
            w.write(np.zeros((1, 4000), np.float32))
            print("writing", flush=True)
            time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert writer.stdout.readline().strip() == "writing"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
    (killed,) = partials(out)
    live = out / f".partial-{os.getpid()}-abcdefgh-a.wav"  # a concurrent run, still writing a.wav
    live.write_bytes(b"in progress")
    soundfile.write(tmp_path / "a.wav", tone(1.0, 8000), 8000)
    status, _, err = run(capsys, "upsample", tmp_path / "a.wav", "-o", out, "-m", model_path, "-q")
    assert status == 0, err
    assert partials(out) == [live.name] and killed != live.name
    assert soundfile.info(out / "a.wav").samplerate == 16000


def test_ctrl_c_is_one_line_exit_130_and_leaves_no_partial_file(capsys, tmp_path, model_path, monkeypatch):
    def interrupted(model, precision="float32"):
        def predict(x):
            raise KeyboardInterrupt
        return predict

    monkeypatch.setattr(inference, "make_predictor", interrupted)
    soundfile.write(tmp_path / "a.wav", tone(1.0, 8000), 8000)
    status, out, err = run(capsys, "upsample", tmp_path / "a.wav", "-o", tmp_path / "out", "-m", model_path, "-q")
    assert status == 130
    assert err.strip().splitlines() == [err.strip()] and err.startswith("audiosr: interrupted: ")
    assert list((tmp_path / "out").iterdir()) == []  # neither the output nor its temporary file


# ---------------------------------------------------------------- data sets


def test_a_broken_symlink_is_listed_among_the_skipped_files(tmp_path, test_corpus):
    folder = tmp_path / "recordings"
    folder.mkdir()
    real = test_corpus / "speech" / "tts" / "libritts_24k.flac"
    os.symlink(real, folder / "good.flac")
    os.symlink(tmp_path / "moved-away.flac", folder / "gone.flac")
    manifest = prepare.prepare_folder(folder, tmp_path / "out", num_clips=4, val_fraction=0.0, num_workers=0,
                                   progress=False)
    (entry,) = manifest.skipped
    assert entry["path"] == str(folder / "gone.flac")
    assert "broken symbolic link" in entry["reason"] and "moved-away.flac" in entry["reason"]
    assert manifest.splits["train"].clips == 4


def test_a_broken_symlink_in_an_input_folder_is_an_error_line(capsys, tmp_path, model_path):
    folder = tmp_path / "in"
    folder.mkdir()
    soundfile.write(folder / "a.wav", tone(1.0, 8000), 8000)
    os.symlink(tmp_path / "nowhere.wav", folder / "b.wav")
    status, _, err = run(capsys, "upsample", folder, "-o", tmp_path / "out", "-m", model_path, "-q")
    assert status == 1
    assert error_lines(err) == [f"audiosr: error: {folder / 'b.wav'}: broken symbolic link "
                                f"(to {tmp_path / 'nowhere.wav'}, which does not exist)"]
    assert (tmp_path / "out" / "a.wav").is_file()


PREPARE = textwrap.dedent("""
    import sys
    from audiosr.data import prepare
    prepare.prepare_folder(sys.argv[1], sys.argv[2], num_clips=6, val_fraction=0.0, clip_seconds=0.25,
                        num_workers=0, progress=False)
""")


@pytest.mark.slow
def test_two_runs_with_the_same_seed_give_byte_identical_shards(tmp_path, test_corpus):
    """Protobuf orders a record's features differently in each process unless told otherwise."""
    digests = []
    for run_index in range(2):
        out = tmp_path / f"run{run_index}"
        subprocess.run([sys.executable, "-c", PREPARE, str(test_corpus / "speech" / "tts"), str(out)], check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": str(run_index)},
                       capture_output=True, timeout=300)
        shards = sorted(out.glob("*.tfrecord"))
        assert shards
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shards})
    assert digests[0] == digests[1]


@pytest.mark.slow
def test_training_on_an_unfinished_data_set_is_one_line_exit_2_and_writes_nothing(tmp_path):
    data_dir = tmp_path / "unfinished"
    Manifest(name="unfinished", fingerprint="x", created="now", sample_rate=16000, clip_samples=2048,
             clip_seconds=0.128, ratios=[2], params={}, info={},
             splits={"train": Split(requested=8), "val": Split(requested=2)}, sources=[], skipped=[]).save(data_dir)
    logdir = tmp_path / "runs"
    result = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "train.py"), f"--data_dir={data_dir}", f"--logdir={logdir}",
         "--model=unet", "--preset=tiny", "--epochs=1"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "unfinished" in line]
    assert str(data_dir) in line
    assert not logdir.exists()


def test_require_finite_floats_refuses_nan_and_inf_and_keeps_finite_and_unset_values():
    from absl import flags

    from audiosr.flag_checks import require_finite_floats

    fv = flags.FlagValues()
    flags.DEFINE_float("rate", 1e-4, "a float", flag_values=fv)
    flags.DEFINE_float("weight", None, "unset by default", flag_values=fv)
    flags.DEFINE_integer("steps", 3, "not a float", flag_values=fv)
    require_finite_floats(fv)
    fv(["app", "--rate=0.5", "--steps=4"])
    assert (fv.rate, fv.weight, fv.steps) == (0.5, None, 4)
    for bad in ("nan", "inf", "-inf"):
        fv.unparse_flags()
        with pytest.raises(flags.IllegalFlagValueError, match=rf"--rate={bad}: must be a finite number"):
            fv(["app", f"--rate={bad}"])


@pytest.mark.slow
@pytest.mark.parametrize("script, output, flag", [("data_prep/prep_synthetic.py", "--out_dir", "--clip_seconds=nan"),
                                                  ("experiments/train.py", "--logdir", "--learning_rate=inf")])
def test_a_non_finite_float_flag_stops_an_app_in_one_line_before_any_work(tmp_path, script, output, flag):
    result = subprocess.run([sys.executable, str(ROOT / script), f"{output}={tmp_path / 'out'}", flag],
                            capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"flag {flag}: must be a finite number" in result.stderr
    assert not any(tmp_path.iterdir())
