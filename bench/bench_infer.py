"""Whole-file inference speed and memory: how `audiosr upsample` scales with length.

For each preset and precision it saves an untrained model (fixed seed; speed
and memory do not depend on the weights) and, for each input length, a fresh
process upsamples a real speech recording (LibriSpeech, tiled to length, at
the model's 8 kHz input rate) to 16 kHz with
:func:`audiosr.inference.upsample_file`, the code `audiosr upsample` runs.
It prints, as min / median / max over ``--repeats`` runs after a warm-up:

- times real time (seconds of audio per second of wall clock) of the whole
  pipeline (read, resample, spline, network, write), and the GFLOP/s that
  makes (the network's FLOPs per second of audio times that speed);
- the same for the network alone, on batches of the pipeline's windows,
  measured once per preset in a process of its own: the pipeline's ceiling;
- the pipeline's speed on CPU time (audio seconds / (process CPU seconds /
  cores)): what an idle machine would give, since on a shared machine the
  wall clock also counts the time other jobs hold the cores;
- peak resident memory of the process, and its growth over what the
  process held after the warm-up: it should not grow with the input's length;
- for bfloat16, the SNR of its output against float32 on 10 s of speech, and
  of its residual (output - spline input) against float32's residual.

Also: the CPU (or GPU), the float32 matmul peak measured at the start and at
the end of the run, and the start-up cost of a command, timed in fresh
processes: ``audiosr --help``, and ``audiosr upsample`` of a 1 s file
(Python, TensorFlow import, model load and compilation, 1 s of audio).

Presets that are not registered in audiosr.models are skipped with a note.

    python bench/bench_infer.py                        # cpu, fast: 10/60/600 s; paper: 10 s
    python bench/bench_infer.py --presets cpu --seconds 10 60 --precisions float32 bfloat16 --repeats 2
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile

import machine

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = pathlib.Path(__file__).resolve().parents[1]
SPEECH = ROOT.parent / "shared" / "data" / "speech" / "librispeech"
RATIO = 2
OUTPUT_RATE = 16000
INPUT_RATE = OUTPUT_RATE // RATIO


def make_input(folder, seconds):
    """Real speech at the model's input rate, tiled to ``seconds``, as 16-bit WAV."""
    from audiosr.audio_io import load_audio

    speech = np.concatenate([load_audio(p, target_rate=INPUT_RATE)[0] for p in sorted(SPEECH.glob("*.flac"))])
    path = pathlib.Path(folder) / f"speech_{seconds:g}s.wav"
    soundfile.write(path, np.resize(speech, int(seconds * INPUT_RATE)), INPUT_RATE, subtype="PCM_16")
    return path


def memory_mb(field):
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in MB.

    Unlike ``getrusage``'s maximum, which a child inherits from its parent
    across fork and exec, ``VmHWM`` counts this process alone.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def gflop_per_audio_second(model):
    """The generator's forward GFLOPs per second of output audio."""
    from audiosr.models.flops import forward_flops, generator_input_length

    length = generator_input_length(model.generator, OUTPUT_RATE)
    return forward_flops(model.generator, (1, length, 1)) / 1e9


# ------------------------------------------------------------ child processes


def child_save(preset, path):
    """Save an untrained model of ``preset``; report its cost, or why it is skipped."""
    import keras

    from audiosr.models import build_model

    keras.utils.set_random_seed(0)
    try:
        model = build_model("unet", RATIO, preset=preset)
    except ValueError as error:
        if "unknown preset" not in str(error):
            raise
        return {"skip": str(error)}
    model.save(path)
    return {"gflop_per_second": gflop_per_audio_second(model), "params": model.generator.count_params()}


def child_pipeline(model_path, precision, source, repeats):
    """Time ``repeats`` whole-file runs after a warm-up one; peak memory of this process."""
    from audiosr.inference import load_model, upsample_file

    model = load_model(model_path)
    folder = pathlib.Path(source).parent
    warmup, target = folder / f"warmup_{os.getpid()}.wav", folder / f"out_{os.getpid()}.wav"
    soundfile.write(warmup, soundfile.read(source, frames=2 * INPUT_RATE)[0], INPUT_RATE)
    upsample_file(model, warmup, target, overwrite=True, precision=precision)
    rss_warm = memory_mb("VmRSS")
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        upsample_file(model, source, target, overwrite=True, precision=precision)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    peak = memory_mb("VmHWM")
    for path in (warmup, target):
        path.unlink()
    return {"wall": wall, "cpu": cpu, "peak_mb": peak, "growth_mb": peak - rss_warm}


def child_network(model_path, precision, source, repeats):
    """The network alone on batches of the pipeline's windows; bfloat16's SNR against float32."""
    from audiosr.baselines import spline_upsample
    from audiosr.inference import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SAMPLES, enhance, load_model, make_predictor
    from audiosr.metrics import snr
    from audiosr.models.flops import generator_input_length

    model = load_model(model_path)
    predict = make_predictor(model, precision)
    length = generator_input_length(model.generator, DEFAULT_CHUNK_SAMPLES)
    batch = 0.1 * np.random.default_rng(0).standard_normal((DEFAULT_BATCH_SIZE, length, 1)).astype("float32")
    seconds = machine.repeat(lambda: predict(batch), repeats)
    result = {"seconds": [seconds.min, seconds.median, seconds.max],
              "audio_seconds": DEFAULT_BATCH_SIZE * DEFAULT_CHUNK_SAMPLES / OUTPUT_RATE}
    if precision != "float32":
        x = spline_upsample(soundfile.read(source, frames=10 * INPUT_RATE, dtype="float32")[0], RATIO)
        fast, exact = enhance(model, x, precision=precision), enhance(model, x)
        result["snr_vs_float32"] = (snr(exact, fast), snr(exact - x, fast - x))
    return result


CHILDREN = {"save": child_save, "pipeline": child_pipeline, "network": child_network}


def run_child(mode, *args):
    command = [sys.executable, __file__, "--child", mode, *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{mode} {args} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_command(arguments, repeats):
    """Wall seconds of ``python -m audiosr.cli ARGUMENTS`` in fresh processes."""
    def run():
        subprocess.run([sys.executable, "-m", "audiosr.cli", *arguments], check=True, capture_output=True)
    return machine.repeat(run, repeats, warmup=0)


# ------------------------------------------------------------ the report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["cpu", "fast", "paper"])
    parser.add_argument("--precisions", nargs="+", default=["float32"], choices=["float32", "bfloat16"])
    parser.add_argument("--seconds", nargs="+", type=float, default=[10, 60, 600], help="input lengths")
    parser.add_argument("--paper_seconds", nargs="+", type=float, default=[10],
                        help="input lengths for the paper preset (below real time on a CPU)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each measurement")
    parser.add_argument("--matmul_size", type=int, default=2048)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        if mode in ("pipeline", "network"):
            rest[-1] = int(rest[-1])
        print(json.dumps(CHILDREN[mode](*rest)))
        return

    from audiosr.inference import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SAMPLES, DEFAULT_OVERLAP_SAMPLES

    cores = len(os.sched_getaffinity(0))
    print(machine.describe())
    print(f"matmul peak (float32 {args.matmul_size}^2, GFLOP/s min / median / max): "
          f"{machine.matmul_peak(args.matmul_size):.1f}", flush=True)
    print(f"audiosr upsample, x{RATIO} ({INPUT_RATE} Hz -> {OUTPUT_RATE} Hz mono speech); chunks of "
          f"{DEFAULT_CHUNK_SAMPLES} samples, overlap {DEFAULT_OVERLAP_SAMPLES}, batch {DEFAULT_BATCH_SIZE}; "
          f"{args.repeats} timed runs each, spreads are min / median / max")
    with tempfile.TemporaryDirectory() as folder:
        lengths = sorted(set(args.seconds) | (set(args.paper_seconds) if "paper" in args.presets else set()))
        sources = {seconds: make_input(folder, seconds) for seconds in lengths + [1.0]}
        help_time = time_command(["--help"], args.repeats)
        print(f"start-up: `audiosr --help` {help_time:.2f} s", flush=True)
        rows = []
        for preset in args.presets:
            model_path = pathlib.Path(folder) / f"{preset}.keras"
            saved = run_child("save", preset, model_path)
            if "skip" in saved:
                print(f"skipping preset {preset!r}: {saved['skip']}", flush=True)
                continue
            per_second = saved["gflop_per_second"]
            print(f"\n{preset}: {saved['params'] / 1e6:.2f} M parameters, {per_second:.2f} GFLOP per second of "
                  f"{OUTPUT_RATE} Hz output", flush=True)
            command = ["upsample", sources[1.0], "-o", pathlib.Path(folder) / "cli", "-m", model_path,
                       "--overwrite", "-q"]
            started = time_command([str(a) for a in command], args.repeats)
            print(f"  start-up: `audiosr upsample` of a 1 s file {started:.2f} s", flush=True)
            for precision in args.precisions:
                network = run_child("network", model_path, precision, sources[lengths[0]], args.repeats)
                speed = machine.Spread(*network["seconds"]).scaled(network["audio_seconds"])
                quality = ("; bfloat16 SNR vs float32: output {:.1f} dB, residual {:.1f} dB".format(
                    *network["snr_vs_float32"]) if "snr_vs_float32" in network else "")
                print(f"  {precision} network alone: {speed:.3g} x real time, {speed.times(per_second):.1f}"
                      f" GFLOP/s{quality}", flush=True)
                for seconds in (args.paper_seconds if preset == "paper" else args.seconds):
                    r = run_child("pipeline", model_path, precision, sources[seconds], args.repeats)
                    xrt = machine.Spread.of(r["wall"]).scaled(seconds)
                    cpu_xrt = seconds / (np.median(r["cpu"]) / cores)
                    rows.append((preset, precision, seconds, xrt, per_second, speed.median, cpu_xrt,
                                 r["peak_mb"], r["growth_mb"]))
                    print(f"  {precision} {seconds:g} s: pipeline {xrt:.3g} x real time", flush=True)
        print(f"\nmatmul peak at the end (GFLOP/s): {machine.matmul_peak(args.matmul_size):.1f}\n")
        print("| preset | precision | input | pipeline x real time | pipeline GFLOP/s | pipeline / network "
              "(median) | x real time on CPU time | peak RSS MB | growth MB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for preset, precision, seconds, xrt, per_second, network, cpu_xrt, peak, growth in rows:
            print(f"| {preset} | {precision} | {seconds:g} s | {xrt:.3g} | {xrt.times(per_second):.1f} | "
                  f"{xrt.median / network:.2f} | {cpu_xrt:.3g} | {peak:.0f} | {growth:.0f} |")


if __name__ == "__main__":
    main()
