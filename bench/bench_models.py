"""Training and inference speed of the models, in FLOPs, beside this machine's matmul peak.

For each preset and model (UNet, GAN, WGAN) it prints:

- the FLOPs of one training step per clip, counted from the step itself
  (audiosr.models.flops: convolution and dense multiply-adds of every
  forward and backward pass the step runs), in GFLOP and in generator
  forward passes, with the generator and discriminator forward passes the
  step makes;
- training clips/s and achieved GFLOP/s, min / median / max over
  ``--repeats`` timed steps (after one untimed step that compiles);
- for the generator alone (inference): GFLOP per second of 16 kHz audio,
  times real time and achieved GFLOP/s.

The float32 matmul peak is measured at the start and at the end of the same
run: a figure far below it, or a peak that moved, says more about the
machine's load than about the model. Then, for multi-worker training, the
gradient bytes one step all-reduces (float32, every network an optimizer
updates, the WGAN's critic n_critic times), the time a ring all-reduce of
them takes over ``--workers`` at each ``--link_gbps``, beside the compute
time of a step of ``--worker_batch`` clips per worker at the rate measured
here and at ``--tflops``, and the speed-up over one worker that follows (no
overlap of communication and computation: Keras' fit all-reduces after the
backward pass). Last, the time one study run (50 epochs of 50,000 clips)
and the whole 24-run study take at ``--tflops`` and at the rate measured here.

    python bench/bench_models.py                           # cpu + paper, a few minutes on 2 cores
    python bench/bench_models.py --presets cpu,fast --repeats 10
    python bench/bench_models.py --paper_batch 64 --paper_repeats 10 --tflops 200    # on a GPU
    python bench/bench_models.py --workers 4 --link_gbps 10,25,100
"""

import argparse

from audiosr.startup import import_tensorflow

import_tensorflow()

import numpy as np  # noqa: E402

from audiosr.lowres import SAMPLE_RATE  # noqa: E402

import machine  # noqa: E402

RATIO = 2
STUDY_PRESET = "paper"
STUDY_KINDS = ("unet", "gan", "wgan")
# 2 data sets x 2 ratios x {plain, -C}: the runs of each model kind in the 24-run study.
STUDY_RUNS_PER_KIND = 8


def build(kind, preset, patch):
    """A compiled model as training builds it, or None (with a message) for an unknown preset."""
    from audiosr.train.experiment import build_compiled_model

    try:
        return build_compiled_model(kind, RATIO, preset, patch, 1e-4, seed=0)
    except ValueError as error:
        if "unknown preset" not in str(error):
            raise
        print(f"skipping preset {preset!r}: {error}", flush=True)
        return None


def count_study_step(kind, patch):
    """FLOPs of one training step of the study preset, traced on a model with zero weights (nothing drawn or run)."""
    import keras

    from audiosr.models import build_model
    from audiosr.models.flops import train_step_flops, zero_weights

    with zero_weights():
        model = build_model(kind, RATIO, preset=STUDY_PRESET, input_length=patch, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(),
                  **({} if kind == "unet" else {"d_optimizer": keras.optimizers.Adam()}))
    return train_step_flops(model, patch)


def measure_training(model, counted, patch, batch, repeats):
    from audiosr.models.flops import generator_input_length

    rng = np.random.default_rng(0)
    x = 0.1 * rng.standard_normal((batch, generator_input_length(model.generator, patch), 1)).astype("float32")
    y = 0.1 * rng.standard_normal((batch, patch, 1)).astype("float32")
    seconds = machine.repeat(lambda: model.train_on_batch(x, y), repeats)
    return seconds.scaled(batch), seconds.scaled(batch * counted.total / 1e9)


def measure_inference(model, patch, batch, repeats):
    from audiosr.inference import make_predictor
    from audiosr.models.flops import forward_flops, generator_input_length

    length = generator_input_length(model.generator, patch)
    flops = forward_flops(model.generator, (batch, length, 1))
    predict = make_predictor(model)
    x = 0.1 * np.random.default_rng(0).standard_normal((batch, length, 1)).astype("float32")
    seconds = machine.repeat(lambda: predict(x), repeats)
    audio_seconds = batch * patch / SAMPLE_RATE
    return flops / audio_seconds / 1e9, seconds.scaled(audio_seconds), seconds.scaled(flops / 1e9)


def print_allreduce(rows, workers, links, worker_batch, tflops):
    """The multi-worker table: all-reduce time per step against compute time per step, and the speed-up."""
    from audiosr.train.distribute import ring_allreduce_seconds

    links_label = " / ".join(f"{link:g}" for link in links)
    print(f"\nMulti-worker all-reduce ({workers} workers, ring: each sends 2(N-1)/N of the gradient bytes; "
          f"{worker_batch} clips per worker per step; speed-up = N x compute / (compute + all-reduce)):")
    print(f"| preset | model | gradient MB/step | all-reduce ms at {links_label} Gbit/s | compute ms/step here | "
          f"speed-up here | compute ms/step at {tflops:g} TFLOP/s | speed-up at {tflops:g} TFLOP/s |")
    print("|---|---|---|---|---|---|---|---|")
    for preset, kind, num_bytes, flops_per_clip, measured_gflops in rows:
        allreduce = [ring_allreduce_seconds(num_bytes, workers, link) for link in links]
        computes = [worker_batch * flops_per_clip / rate for rate in (measured_gflops * 1e9, tflops * 1e12)]
        cells = []
        for compute in computes:
            speedups = " / ".join(f"{workers * compute / (compute + a):.2f}" for a in allreduce)
            cells += [f"{compute * 1e3:.4g}", speedups]
        print(f"| {preset} | {kind} | {num_bytes / 1e6:.3g} | {' / '.join(f'{a * 1e3:.3g}' for a in allreduce)} | "
              + " | ".join(cells) + " |")


def print_study_estimate(counts, measured, tflops, epochs, clips):
    """Time of one run and of the study at ``tflops``, and at the rates measured for the study preset."""
    clips_per_run = epochs * clips
    print(f"\nStudy estimate ({STUDY_PRESET} preset, {epochs} epochs x {clips:,} clips per run; "
          f"{STUDY_RUNS_PER_KIND} runs per model in the 24-run study; the -C models' content network and "
          "validation passes not counted):")
    total = sum(counts[kind].total for kind in STUDY_KINDS) * clips_per_run * STUDY_RUNS_PER_KIND
    print("  FLOPs: one run " + ", ".join(f"{kind.upper()} {counts[kind].total * clips_per_run / 1e18:.3g} EFLOP"
                                            for kind in STUDY_KINDS) + f"; whole study {total / 1e18:.3g} EFLOP")
    rates = {f"{tflops:g} TFLOP/s sustained (assumed)": {kind: tflops * 1e12 for kind in STUDY_KINDS}}
    if set(measured) == set(STUDY_KINDS):
        rates["the GFLOP/s measured above (median)"] = {kind: measured[kind] * 1e9 for kind in STUDY_KINDS}
    for label, rate in rates.items():
        hours = {kind: counts[kind].total * clips_per_run / rate[kind] / 3600 for kind in STUDY_KINDS}
        print(f"  at {label}: one run " + ", ".join(f"{kind.upper()} {hours[kind]:.3g} h" for kind in STUDY_KINDS)
              + f"; whole study {sum(hours.values()) * STUDY_RUNS_PER_KIND / 24:.3g} days")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="cpu,paper", help="presets, comma separated (any registered one)")
    parser.add_argument("--models", default=",".join(STUDY_KINDS))
    parser.add_argument("--patch", type=int, default=8192, help="output samples per training clip")
    parser.add_argument("--batch", type=int, default=8, help="clips per step (presets other than paper)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps (presets other than paper)")
    parser.add_argument("--paper_batch", type=int, default=1, help="clips per step for the paper preset")
    parser.add_argument("--paper_repeats", type=int, default=2, help="timed steps for the paper preset")
    parser.add_argument("--matmul_size", type=int, default=2048, help="square matrix size of the peak measurement")
    parser.add_argument("--tflops", type=float, default=100.0,
                        help="assumed sustained TFLOP/s of the GPU for the study estimate (default 100: "
                             "about a third of an A100's or a tenth of an H100's dense bfloat16 peak)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the multi-worker estimate")
    parser.add_argument("--link_gbps", default="1,10,100",
                        help="link speeds between workers, Gbit/s, comma separated (multi-worker estimate)")
    parser.add_argument("--worker_batch", type=int, default=64,
                        help="clips per worker per step in the multi-worker estimate (the study's 64 per replica)")
    parser.add_argument("--epochs", type=int, default=50, help="epochs per study run")
    parser.add_argument("--clips", type=int, default=50000, help="training clips per epoch")
    args = parser.parse_args()

    from audiosr.models.flops import train_step_flops
    from audiosr.train.distribute import gradient_bytes

    print(machine.describe())
    print(f"matmul peak (float32 {args.matmul_size}^2, GFLOP/s min / median / max): "
          f"{machine.matmul_peak(args.matmul_size):.1f}", flush=True)
    print(f"training clips of {args.patch} output samples ({args.patch / SAMPLE_RATE:.3f} s at {SAMPLE_RATE} Hz), "
          f"ratio {RATIO}; spreads are min / median / max")
    print("| preset | model | params | train GFLOP/clip | = x G fwd | G / D fwd passes | batch | "
          "clips/s | GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    counts, measured, inference, allreduce_rows = {}, {}, [], []
    for preset in [p.strip() for p in args.presets.split(",") if p.strip()]:
        batch, repeats = (args.paper_batch, args.paper_repeats) if preset == "paper" else (args.batch, args.repeats)
        for kind in args.models.split(","):
            model = build(kind, preset, args.patch)
            if model is None:
                break
            counted = train_step_flops(model, args.patch)
            clips, gflops = measure_training(model, counted, args.patch, batch, repeats)
            if preset == STUDY_PRESET:
                counts[kind], measured[kind] = counted, gflops.median
            allreduce_rows.append((preset, kind, gradient_bytes(model), counted.total, gflops.median))
            print(f"| {preset} | {kind} | {model.generator.count_params() / 1e6:.2f} M | {counted.total / 1e9:.1f} | "
                  f"{counted.per_generator_forward:.2f} | {counted.generator_passes:g} / "
                  f"{counted.discriminator_passes:.3g} | {batch} | {clips:.3g} | {gflops:.1f} |", flush=True)
            if kind == args.models.split(",")[0]:
                inference.append((preset, batch, *measure_inference(model, args.patch, batch, repeats)))
    print("\nGenerator inference (spreads min / median / max):")
    print("| preset | batch | GFLOP per s of audio | x real time | GFLOP/s |")
    print("|---|---|---|---|---|")
    for preset, batch, per_second, speed, gflops in inference:
        print(f"| {preset} | {batch} | {per_second:.2f} | {speed:.3g} | {gflops:.1f} |")
    print(f"\nmatmul peak at the end (GFLOP/s): {machine.matmul_peak(args.matmul_size):.1f}")
    print_allreduce(allreduce_rows, args.workers, [float(x) for x in args.link_gbps.split(",")], args.worker_batch,
                    args.tflops)

    for kind in STUDY_KINDS:
        if kind not in counts:
            counts[kind] = count_study_step(kind, args.patch)
    print_study_estimate(counts, measured, args.tflops, args.epochs, args.clips)


if __name__ == "__main__":
    main()
