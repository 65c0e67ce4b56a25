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
  measured once per preset in the process that saves the model (not the
  ones timing the pipeline): the pipeline's ceiling;
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

Streaming (`audiosr stream`, with the shipped models, on real speech at each
model's input rate), for each shipped model:

- real-time factor of :class:`audiosr.deploy.streaming.StreamUpsampler`
  fed 20 ms blocks as fast as it takes them, and the compute time per block;
- latency through a real pipe: `audiosr stream` in its own process, fed a
  block every block length (as a sound card would), each output sample
  timed from the moment its input sample was written to the moment it was
  read; the latency the command announces (block + look-ahead) beside it.

TFLite (`audiosr export --format tflite`, float32 / float16 / dynamic int8
weights) in the LiteRT interpreter: times real time on the whole input and
the relative RMS difference from the Keras model's output (the float32
network alone, in the same process, for comparison).

Presets that are not registered in audiosr.models are skipped with a note.

    python bench/bench_infer.py                        # cpu, fast: 10/60/600 s; paper: 10 s
    python bench/bench_infer.py --presets cpu --seconds 10 60 --precisions float32 bfloat16 --repeats 2
    python bench/bench_infer.py --presets --stream_seconds 20 --repeats 5   # streaming and TFLite only
"""

import argparse
import functools
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile

from audiosr.startup import import_tensorflow

import machine

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Real speech to time: LibriSpeech recordings of the larger corpus beside the repository, or, in a bare clone,
# the test corpus' (speed does not depend on which).
SPEECH = next(folder for folder in (ROOT.parent / "shared" / "data" / "speech" / "librispeech",
                                    ROOT / "tests" / "corpus" / "speech" / "librispeech") if any(folder.glob("*.flac")))
RATIO = 2
OUTPUT_RATE = 16000
INPUT_RATE = OUTPUT_RATE // RATIO


@functools.cache
def real_speech(rate, seconds):
    """``seconds`` of the recordings of SPEECH at ``rate``, end to end (tiled if they are shorter): decoded once a
    process for each length, and only as many files as that length needs; callers do not change the array."""
    from audiosr.audio_io import load_audio

    needed = int(seconds * rate)
    pieces, decoded = [], 0
    for path in sorted(SPEECH.glob("*.flac")):
        pieces.append(load_audio(path, target_rate=rate)[0])
        decoded += len(pieces[-1])
        if decoded >= needed:
            break
    return np.resize(np.concatenate(pieces), needed)


def make_input(folder, seconds):
    """Real speech at the model's input rate, ``seconds`` long, as 16-bit WAV."""
    path = pathlib.Path(folder) / f"speech_{seconds:g}s.wav"
    soundfile.write(path, real_speech(INPUT_RATE, seconds), INPUT_RATE, subtype="PCM_16")
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


def network_speed(model, precision, source, repeats):
    """The network alone on batches of the pipeline's windows; bfloat16's SNR against float32."""
    from audiosr.baselines import spline_upsample
    from audiosr.inference import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SAMPLES, enhance, make_predictor
    from audiosr.metrics import snr
    from audiosr.models.flops import generator_input_length

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


# ------------------------------------------------------------ child processes


def child_model(preset, path, source, repeats, precisions):
    """Save an untrained model of ``preset`` and time its network alone (:func:`network_speed`) in each of
    ``precisions`` (comma separated); report its cost too, or why the preset is skipped."""
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
    return {"gflop_per_second": gflop_per_audio_second(model), "params": model.generator.count_params(),
            "network": {precision: network_speed(model, precision, source, repeats)
                        for precision in precisions.split(",")}}


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


def speech_at(rate, seconds):
    """Real speech, band-limited to ``rate`` as a model's training input is, tiled to ``seconds``."""
    from audiosr.lowres import decimate

    return np.resize(decimate(real_speech(OUTPUT_RATE, seconds), int(round(OUTPUT_RATE / rate))), int(seconds * rate))


def child_stream(name, seconds, repeats):
    """StreamUpsampler fed 20 ms blocks as fast as it takes them: wall time per run, compute per block."""
    from audiosr.deploy.streaming import StreamUpsampler
    from audiosr.inference import load_model
    from audiosr.pretrained import catalog, model_path

    rate = catalog()[name]["input_rate"]
    model = load_model(model_path(name))
    x = speech_at(rate, seconds)
    block = int(0.02 * rate)
    wall, per_block = [], []
    for _ in range(repeats + 1):  # the first run warms up
        upsampler = StreamUpsampler(model, rate)
        start = time.perf_counter()
        for i in range(0, len(x), block):
            began = time.perf_counter()
            upsampler.push(x[i:i + block])
            per_block.append(time.perf_counter() - began)
        upsampler.finish()
        wall.append(time.perf_counter() - start)
    latency = upsampler.latency
    return {"wall": wall[1:], "block_ms": [1000 * t for t in per_block[len(per_block) // (repeats + 1):]],
            "latency_ms": 1000 * latency.total, "block": 1000 * latency.block}


def pipe_latency(name, seconds):
    """`audiosr stream` fed a block per block length; latency of every output sample (ms) and the announced one."""
    import threading

    from audiosr.pretrained import catalog

    meta = catalog()[name]
    rate, ratio = meta["input_rate"], meta["ratio"]
    pcm = np.clip(np.round(speech_at(rate, seconds) * 32768), -32768, 32767).astype("<i2")
    block = int(0.02 * rate)
    process = subprocess.Popen([sys.executable, "-m", "audiosr.cli", "stream", "--rate", f"{rate:g}", "-m", name],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    announced = ""
    while "latency" not in announced:  # printed once the model is loaded and compiled
        line = process.stderr.readline().decode()
        if not line:
            raise RuntimeError(f"audiosr stream ended before streaming (exit status {process.wait()})")
        announced = line
    written = np.zeros(len(pcm))  # when each input sample went into the pipe
    arrivals = []  # (time, output samples so far)

    def reader():
        total = 0
        while True:
            data = os.read(process.stdout.fileno(), 1 << 16)
            if not data:
                return
            total += len(data) // 2
            arrivals.append((time.perf_counter(), total))

    thread = threading.Thread(target=reader)
    thread.start()
    start = time.perf_counter()
    for k, i in enumerate(range(0, len(pcm), block)):
        time.sleep(max(0.0, start + k * block / rate - time.perf_counter()))  # a sound card's pace
        written[i:i + block] = time.perf_counter()
        process.stdin.write(pcm[i:i + block].tobytes())
        process.stdin.flush()
    process.stdin.close()
    thread.join()
    process.wait()
    out_time = np.zeros(len(pcm) * ratio)
    done = 0
    for moment, total in arrivals:
        out_time[done:total] = moment
        done = total
    # samples that left only because the input ended (the flushed tail) are not streaming latency
    steady = np.arange(len(out_time)) < (len(pcm) - block) * ratio - 2 * block * ratio
    latency = 1000 * (out_time[steady] - written[np.arange(len(out_time))[steady] // ratio])
    match = re.search(r"latency ([\d.]+) ms", announced)
    return latency, float(match.group(1)) if match else float("nan")


def child_tflite(name, seconds, repeats, quantizations):
    """LiteRT on the exported model (``quantizations``: none, float16, dynamic): speed and difference from Keras."""
    from ai_edge_litert.interpreter import Interpreter

    from audiosr.baselines import spline_upsample
    from audiosr.deploy.export import tflite_bytes
    from audiosr.inference import load_model, make_predictor
    from audiosr.pretrained import catalog, model_path

    meta = catalog()[name]
    model = load_model(model_path(name))
    x = spline_upsample(speech_at(meta["input_rate"], seconds), meta["ratio"])[None, :, None]
    predict = make_predictor(model)
    exact = predict(x)
    result = {"keras": machine.repeat(lambda: predict(x), repeats).__dict__}
    for quantization in quantizations.split(","):
        runner = Interpreter(model_content=tflite_bytes(model, quantization)).get_signature_runner("serving_default")
        output = runner(spline_input=x)["output"]
        spread = machine.repeat(lambda runner=runner: runner(spline_input=x), repeats)
        error = float(np.sqrt(np.mean((output - exact) ** 2) / np.mean(exact ** 2)))
        result[quantization] = {**spread.__dict__, "relative_rms": error}
    return result


def child_deploy(name, seconds, repeats, quantizations):
    """Streaming and TFLite of one shipped model, in one process (one TensorFlow start-up)."""
    return {"stream": child_stream(name, seconds, repeats),
            "tflite": child_tflite(name, seconds, repeats, quantizations)}


CHILDREN = {"model": child_model, "pipeline": child_pipeline, "deploy": child_deploy}


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


def tensorflow_import_seconds(repeats):
    """Wall seconds of a fresh process importing TensorFlow and Keras as the programs do
    (:func:`audiosr.startup.import_tensorflow`) and plainly (the reference), the two in turn."""
    codes = {"programs": "from audiosr.startup import import_tensorflow; import_tensorflow()",
             "plain": "import keras, tensorflow as tf; tf.config.list_physical_devices()"}
    seconds = {name: [] for name in codes}
    for _ in range(repeats):
        for name, code in codes.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
            seconds[name].append(time.perf_counter() - start)
    return {name: machine.Spread.of(values) for name, values in seconds.items()}


# ------------------------------------------------------------ the report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="*", default=["cpu", "fast", "paper"])
    parser.add_argument("--precisions", nargs="+", default=["float32"], choices=["float32", "bfloat16"])
    parser.add_argument("--seconds", nargs="+", type=float, default=[10, 60, 600], help="input lengths")
    parser.add_argument("--paper_seconds", nargs="+", type=float, default=[10],
                        help="input lengths for the paper preset (below real time on a CPU)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each measurement")
    parser.add_argument("--matmul_size", type=int, default=2048)
    parser.add_argument("--stream_models", nargs="*", default=["speech-r2", "speech-r4"],
                        help="shipped models to stream and to run as TFLite")
    parser.add_argument("--stream_seconds", type=float, default=10, help="input length for streaming and TFLite")
    parser.add_argument("--quantizations", nargs="+", default=["none", "float16", "dynamic"],
                        choices=["none", "float16", "dynamic"], help="TFLite weights to time")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import_tensorflow()
    if args.child:
        mode, *rest = args.child
        if mode == "pipeline":
            rest[-1] = int(rest[-1])
        if mode == "model":
            rest[3] = int(rest[3])
        if mode == "deploy":
            rest[1:3] = float(rest[1]), int(rest[2])
        print(json.dumps(CHILDREN[mode](*rest)))
        return

    from audiosr.inference import DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SAMPLES, DEFAULT_OVERLAP_SAMPLES

    cores = len(os.sched_getaffinity(0))
    print(machine.describe())
    print(f"matmul peak (float32 {args.matmul_size}^2, GFLOP/s min / median / max): "
          f"{machine.matmul_peak(args.matmul_size):.1f}", flush=True)
    print(f"audiosr upsample, x{RATIO} ({INPUT_RATE} Hz -> {OUTPUT_RATE} Hz mono speech of {SPEECH}); chunks of "
          f"{DEFAULT_CHUNK_SAMPLES} samples, overlap {DEFAULT_OVERLAP_SAMPLES}, batch {DEFAULT_BATCH_SIZE}; "
          f"{args.repeats} timed runs each, spreads are min / median / max")
    with tempfile.TemporaryDirectory() as folder:
        lengths = sorted(set(args.seconds) | (set(args.paper_seconds) if "paper" in args.presets else set()))
        sources = {seconds: make_input(folder, seconds) for seconds in lengths + [1.0]}
        help_time = time_command(["--help"], args.repeats)
        print(f"start-up: `audiosr --help` {help_time:.2f} s", flush=True)
        imports = tensorflow_import_seconds(args.repeats)
        print(f"start-up: TensorFlow and Keras imported as the programs do {imports['programs']:.2f} s, plainly "
              f"{imports['plain']:.2f} s (median ratio {imports['programs'].median / imports['plain'].median:.2f})",
              flush=True)
        rows = []
        for preset in args.presets:
            model_path = pathlib.Path(folder) / f"{preset}.keras"
            saved = run_child("model", preset, model_path, sources[lengths[0]], args.repeats, ",".join(args.precisions))
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
                network = saved["network"][precision]
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
        stream_rows = []
        for name in args.stream_models:
            print(f"\nstreaming {name} ({args.stream_seconds:g} s of speech, 20 ms blocks)", flush=True)
            deployed = run_child("deploy", name, args.stream_seconds, args.repeats, ",".join(args.quantizations))
            streamed, tflite = deployed["stream"], deployed["tflite"]
            xrt = machine.Spread.of(streamed["wall"]).scaled(args.stream_seconds)
            compute = machine.Spread.of(streamed["block_ms"])
            latency, announced = pipe_latency(name, args.stream_seconds)
            measured = machine.Spread(float(latency.min()), float(np.median(latency)), float(latency.max()))
            stream_rows.append((name, xrt, compute, streamed["latency_ms"], measured))
            print(f"  {xrt:.3g} x real time; compute per block {compute:.2f} ms; latency: announced "
                  f"{announced:.1f} ms, through a pipe {measured:.1f} ms", flush=True)
            keras_speed = machine.Spread(**tflite.pop("keras")).scaled(args.stream_seconds)
            print(f"  {args.stream_seconds:g} s in one call: Keras (TensorFlow) network {keras_speed:.3g} x real time",
                  flush=True)
            for quantization, r in tflite.items():
                speed = machine.Spread(r["min"], r["median"], r["max"]).scaled(args.stream_seconds)
                print(f"  TFLite {quantization}: {speed:.3g} x real time, relative RMS difference from Keras "
                      f"{r['relative_rms']:.2e}", flush=True)
        print(f"\nmatmul peak at the end (GFLOP/s): {machine.matmul_peak(args.matmul_size):.1f}\n")
        if stream_rows:
            print("| model | stream x real time | compute per 20 ms block (ms) | announced latency (ms) | "
                  "latency through a pipe (ms) |")
            print("|---|---|---|---|---|")
            for name, xrt, compute, announced, measured in stream_rows:
                print(f"| {name} | {xrt:.3g} | {compute:.2f} | {announced:.1f} | {measured:.1f} |")
            print()
        print("| preset | precision | input | pipeline x real time | pipeline GFLOP/s | pipeline / network "
              "(median) | x real time on CPU time | peak RSS MB | growth MB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for preset, precision, seconds, xrt, per_second, network, cpu_xrt, peak, growth in rows:
            print(f"| {preset} | {precision} | {seconds:g} s | {xrt:.3g} | {xrt.times(per_second):.1f} | "
                  f"{xrt.median / network:.2f} | {cpu_xrt:.3g} | {peak:.0f} | {growth:.0f} |")


if __name__ == "__main__":
    main()
