"""Whole-file inference speed and memory: how `audiosr upsample` scales with length.

For each preset, precision and input length, a fresh process upsamples a real
speech recording (LibriSpeech, tiled to length, at the model's 8 kHz input
rate) to 16 kHz with :func:`audiosr.inference.upsample_file` and reports:

- speed in times real time (seconds of audio per second of wall clock) for
  the whole pipeline (read, spline, network, write), and for the network
  alone on the same chunks (measured in the same process: the ceiling);
- the pipeline's speed on CPU time (audio seconds / (process CPU seconds /
  cores)): what an idle machine would give, since on a shared machine the
  wall clock also counts the time other people's jobs hold the cores;
- peak resident memory of the process, and its growth over the memory the
  process held after a warm-up run; the goal is a growth that does not
  depend on the input's length;
- for bfloat16, the SNR of its output against float32 on 10 s of speech,
  and of its residual (output - spline input) against float32's residual.

Models are untrained (fixed seed): speed and memory do not depend on the
weights, but the bfloat16 SNR does (a trained model's smaller residual
gives a higher one).

    python bench/bench_infer.py                        # cpu + paper, 10/60/600 s, float32
    python bench/bench_infer.py --presets cpu --precisions float32 bfloat16
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = pathlib.Path(__file__).resolve().parents[1]
SPEECH = ROOT.parent / "shared" / "data" / "speech" / "librispeech"
RATIO = 2
INPUT_RATE = 16000 // RATIO


def make_input(folder, seconds):
    """Real speech at the model's input rate, tiled to ``seconds``, as 16-bit WAV."""
    from audiosr.audio_io import load_audio

    speech = np.concatenate([load_audio(p, target_rate=INPUT_RATE)[0] for p in sorted(SPEECH.glob("*.flac"))])
    path = pathlib.Path(folder) / f"speech_{seconds}s.wav"
    soundfile.write(path, np.resize(speech, int(seconds * INPUT_RATE)), INPUT_RATE, subtype="PCM_16")
    return path


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def measure(preset, precision, source):
    """Runs in a fresh process: one timed file, peak memory, network-only speed."""
    import keras

    from audiosr.baselines import spline_upsample
    from audiosr.inference import (
        DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SAMPLES, enhance, make_predictor, upsample_file,
    )
    from audiosr.metrics import snr
    from audiosr.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model("unet", RATIO, preset=preset)
    folder = pathlib.Path(source).parent
    warmup = folder / f"warmup_{os.getpid()}.wav"
    soundfile.write(warmup, soundfile.read(source, frames=2 * INPUT_RATE)[0], INPUT_RATE)
    target = folder / f"out_{os.getpid()}.wav"
    upsample_file(model, warmup, target, overwrite=True, precision=precision)
    rss_warm = rss_mb()
    seconds = soundfile.info(source).duration
    start, start_cpu = time.perf_counter(), time.process_time()
    upsample_file(model, source, target, overwrite=True, precision=precision)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result = {
        "seconds": seconds, "xrt": seconds / elapsed, "cpu_xrt": seconds / (cpu / os.cpu_count()),
        "peak_mb": peak, "growth_mb": peak - rss_warm,
    }

    predict = make_predictor(model, precision)
    batch = np.random.default_rng(0).standard_normal((DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SAMPLES, 1)).astype("float32")
    predict(batch)
    repeats = max(1, int(round(min(seconds, 60.0) * 16000 / batch.size)))
    start = time.perf_counter()
    for _ in range(repeats):
        predict(batch)
    result["network_xrt"] = repeats * batch.size / 16000 / (time.perf_counter() - start)

    if precision != "float32":
        x = spline_upsample(soundfile.read(source, frames=10 * INPUT_RATE, dtype="float32")[0], RATIO)
        fast, exact = enhance(model, x, precision=precision), enhance(model, x)
        result["snr_vs_float32"] = (snr(exact, fast), snr(exact - x, fast - x))
    for path in (warmup, target):
        path.unlink()
    return result


def run_child(preset, precision, source):
    command = [sys.executable, __file__, "--child", preset, precision, str(source)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{preset}/{precision}/{source.name} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["cpu", "paper"])
    parser.add_argument("--precisions", nargs="+", default=["float32"], choices=["float32", "bfloat16"])
    parser.add_argument("--seconds", nargs="+", type=float, default=[10, 60, 600])
    parser.add_argument("--child", nargs=3, metavar=("PRESET", "PRECISION", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return

    from audiosr.inference import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SAMPLES, DEFAULT_OVERLAP_SAMPLES

    print(f"audiosr upsample, x{RATIO} ({INPUT_RATE} Hz -> 16000 Hz mono speech), {os.cpu_count()} CPU cores; "
          f"chunks of {DEFAULT_CHUNK_SAMPLES} samples, overlap {DEFAULT_OVERLAP_SAMPLES}, batch {DEFAULT_BATCH_SIZE}")
    print(f"{'preset':<7} {'precision':<9} {'input':>7} {'x real time':>12} {'network only':>13} "
          f"{'pipeline/network':>17} {'on CPU time':>12} {'peak RSS MB':>12} {'growth MB':>10} "
          f"{'SNR vs fp32: output / residual':>31}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        sources = {seconds: make_input(folder, seconds) for seconds in args.seconds}
        for preset in args.presets:
            for precision in args.precisions:
                for seconds, source in sources.items():
                    r = run_child(preset, precision, source)
                    quality = "{:.1f} / {:.1f} dB".format(*r["snr_vs_float32"]) if "snr_vs_float32" in r else "-"
                    print(f"{preset:<7} {precision:<9} {seconds:>6g}s {r['xrt']:>11.1f}x {r['network_xrt']:>12.1f}x "
                          f"{r['xrt'] / r['network_xrt']:>17.2f} {r['cpu_xrt']:>11.1f}x {r['peak_mb']:>12.0f} {r['growth_mb']:>10.0f} "
                          f"{quality:>31}", flush=True)


if __name__ == "__main__":
    main()
