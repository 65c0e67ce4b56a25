"""Training throughput and inference speed of the AudioUNet presets on this machine.

Prints, per preset: parameters, training clips/s for each model (UNet, GAN,
WGAN; one optimiser step per batch, WGAN with its n_critic critic steps), and
generator inference speed in times real time at 16 kHz.

    python bench/bench_models.py [--presets cpu,paper] [--patch 8192] [--batch 8]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import audiosr.models as m  # noqa: E402
from audiosr.lowres import SAMPLE_RATE  # noqa: E402


def time_calls(fn, warmup, repeats):
    """Median seconds per call after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def training_clips_per_second(kind, preset, patch, batch, repeats):
    model = m.build_model(kind, 2, preset=preset, input_length=patch, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
    x = np.random.default_rng(0).standard_normal((batch, patch, 1)).astype("float32")
    seconds = time_calls(lambda: model.train_on_batch(x, x), warmup=1, repeats=repeats)
    return batch / seconds


def inference_times_real_time(preset, patch, batch, repeats):
    generator = m.build_audiounet(preset)
    forward = tf.function(lambda x: generator(x, training=False), jit_compile=False)
    x = tf.constant(np.random.default_rng(0).standard_normal((batch, patch, 1)).astype("float32"))
    seconds = time_calls(lambda: forward(x).numpy(), warmup=1, repeats=repeats)
    return batch * patch / SAMPLE_RATE / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="cpu,paper")
    parser.add_argument("--models", default="unet,gan,wgan")
    parser.add_argument("--patch", type=int, default=8192)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"patch {args.patch} samples ({args.patch / SAMPLE_RATE:.2f} s), batch {args.batch}, "
          f"{os.cpu_count()} CPU cores, TF {tf.__version__}, Keras {keras.__version__}")
    columns = ["preset", "params"] + [f"train {k} clips/s" for k in args.models.split(",")] + ["inference x real time"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for preset in args.presets.split(","):
        # The paper preset is ~100x slower on a CPU: fewer, smaller timed steps keep the run short.
        batch = args.batch if preset != "paper" else 2
        repeats = args.repeats if preset != "paper" else 1
        params = m.build_audiounet(preset).count_params()
        rates = [training_clips_per_second(k, preset, args.patch, batch, repeats) for k in args.models.split(",")]
        speed = inference_times_real_time(preset, args.patch, batch, repeats)
        cells = " | ".join(f"{r:.2f}" for r in rates)
        print(f"| {preset} | {params / 1e6:.1f} M | {cells} | {speed:.1f} |", flush=True)


if __name__ == "__main__":
    main()
