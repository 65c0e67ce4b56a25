"""Deployment: exported SavedModel / TFLite run without audiosr and match it; `audiosr stream` streams through a pipe
and matches `audiosr upsample`."""

import ast
import os
import pathlib
import re
import select
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

import audiosr
from audiosr import cli
from audiosr.audio_io import load_audio
from audiosr.inference import load_model
from audiosr.lowres import decimate
from audiosr.pretrained import model_path

DEPLOYMENT_PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "deployment.md"


def python_blocks(text):
    """The ```python blocks of a page, in order, as one script."""
    return "\n".join(re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M))


@pytest.fixture(scope="module")
def speech_r2():
    return load_model(model_path("speech-r2"))


@pytest.fixture(scope="module")
def narrowband(test_corpus):
    """A real recording as the model's 8 kHz input, band-limited the way its training inputs were."""
    reference, _ = load_audio(test_corpus / "speech" / "vctk" / "p257_167.flac", target_rate=16000)
    return decimate(reference, 2)


def relative_rms(estimate, reference):
    return float(np.sqrt(np.mean((estimate - reference) ** 2) / np.mean(reference ** 2)))


def test_the_deployment_page_runs_the_exported_files_without_audiosr_and_they_match_it(tmp_path, speech_r2,
                                                                                     narrowband, capsys):
    assert cli.main(["export", "speech-r2", str(tmp_path / "speech-r2-savedmodel")]) == 0
    assert cli.main(["export", "speech-r2", str(tmp_path / "speech-r2.tflite")]) == 0  # the format follows the name
    assert "saved_model.pb" in os.listdir(tmp_path / "speech-r2-savedmodel")
    soundfile.write(tmp_path / "talk.wav", narrowband, 8000, subtype="FLOAT")
    # docs/deployment.md's Python, as written, in an interpreter where `import audiosr` fails
    script = tmp_path / "plain.py"
    script.write_text('import sys\nsys.modules["audiosr"] = None\n' + python_blocks(DEPLOYMENT_PAGE.read_text()))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-I", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert ast.literal_eval(done.stdout.strip().splitlines()[0]) == {
        "ratio": 2, "input_rate": 8000.0, "output_rate": 16000, "length_multiple": 16}
    # the array API with the same model, the file's 8 kHz rate as its band, and no safety net: the network alone
    expected, rate = audiosr.upsample(narrowband, 8000, model=speech_r2, input_band=4000, fallback=False)
    assert rate == 16000
    from_saved_model = soundfile.read(tmp_path / "talk-16k.wav", dtype="float32")[0]
    from_tflite = soundfile.read(tmp_path / "talk-16k-tflite.wav", dtype="float32")[0]
    assert from_saved_model.shape == from_tflite.shape == expected.shape  # any length: padded inside, cut back
    assert np.max(np.abs(from_saved_model - expected)) < 1e-3
    difference = np.max(np.abs(from_tflite - expected))
    print(f"TFLite vs audiosr: max |difference| {difference:.2e}, "
          f"relative RMS {relative_rms(from_tflite, expected):.2e}")
    assert difference < 1e-4  # measured 7e-8: float32 throughout, other kernels


def test_export_refuses_to_replace_unasked_and_quantizing_a_saved_model(tmp_path, capsys):
    target = tmp_path / "model"
    target.mkdir()
    assert cli.main(["export", "speech-r2", str(target)]) == cli.EXIT_USAGE
    assert "exists" in capsys.readouterr().err
    assert cli.main(["export", "speech-r2", str(tmp_path / "other"), "--quantize", "float16"]) == cli.EXIT_USAGE
    assert "--quantize applies to --format tflite" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["model"]


def _read_available(stream, seconds):
    """Bytes that ``stream`` delivers within ``seconds``, returning as soon as some have come."""
    ready, _, _ = select.select([stream], [], [], seconds)
    return os.read(stream.fileno(), 1 << 20) if ready else b""


def test_stream_writes_output_before_its_input_ends_and_matches_upsample(tmp_path, narrowband, capsys):
    pcm = np.clip(np.round(narrowband * 32768), -32768, 32767).astype("<i2")
    wav = tmp_path / "call.wav"
    soundfile.write(wav, pcm, 8000, subtype="PCM_16")
    assert cli.main(["upsample", str(wav), "-o", str(tmp_path / "file"), "--bit-depth", "float", "-q"]) == 0
    expected, rate = soundfile.read(tmp_path / "file" / "call.wav", dtype="float32")
    assert rate == 16000

    process = subprocess.Popen([sys.executable, "-m", "audiosr.cli", "stream", "--rate", "8000"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        half = len(pcm) // 2
        process.stdin.write(pcm[:half].tobytes())
        process.stdin.flush()
        early, deadline = b"", time.monotonic() + 120
        while not early and time.monotonic() < deadline and process.poll() is None:
            early = _read_available(process.stdout, 1.0)
        assert early, "no output while the input was still open"
        process.stdin.write(pcm[half:].tobytes())
        process.stdin.close()  # end of input: the tail is flushed
        rest, err = process.stdout.read(), process.stderr.read().decode()
        assert process.wait(timeout=120) == 0, err
    finally:
        process.kill()
    latency = float(re.search(r"latency ([\d.]+) ms", err).group(1))
    assert latency <= 100, err
    streamed = np.frombuffer(early + rest, dtype="<i2") / 32768.0
    assert streamed.shape == expected.shape  # sample-aligned with the input: no delay in the samples
    assert relative_rms(streamed, expected) < 0.01
    assert relative_rms(streamed, expected) < 1e-3  # in fact: 16-bit rounding is all that differs
