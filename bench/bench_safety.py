"""Is the safety net worth it? Model alone, model with per-frame fallback to spline, and spline, per input maker.

For each model (a shipped name or a .keras file) and each low-rate method of
:mod:`audiosr.lowres`, every held-out speech recording of ``--data_root``
(the held-out speakers of :mod:`audiosr.train.recipe`: no shipped model trained on them)
is made low-rate with that method, splined back, enhanced by the model, and
scored by :class:`audiosr.safety.SafetyNet` (band: the low-rate recording's
estimated band, :mod:`audiosr.bandwidth`, as ``audiosr upsample`` does).
Prints SNR and LSD against the 16 kHz truth of spline, the model, the model
with each flagged frame replaced by spline ("frames"), and the per-file rule
``audiosr upsample`` applies ("file": spline for an implausible file), with
the share of frames flagged and the files sent to spline:

    python bench/bench_safety.py --models speech-r2,speech-r4 --methods decimate,soxr,polyphase,fft

``--calibrate`` instead scores the training speakers' 16 kHz truth as if it
were a model's output: its gain over the band-limited input in the input's
top octave, its excess over the extrapolated envelope above, per frame, and
the share of its frames flagged per file: the figures the limits of
:mod:`audiosr.safety` are set from.
"""

import argparse
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_root", default=str(ROOT.parent / "shared" / "data"), help="the recordings")
    parser.add_argument("--models", default="speech-r2,speech-r4",
                        help="shipped names or .keras files, comma separated")
    parser.add_argument("--methods", default="decimate,soxr,polyphase,fft", help="audiosr.lowres methods")
    parser.add_argument("--max_files", type=int, default=0, help="only the first N held-out files (0: all)")
    parser.add_argument("--calibrate", action="store_true", help="print the plausible-ratio percentiles instead")
    parser.add_argument("--calibration_files", type=int, default=80, help="training files read by --calibrate")
    return parser.parse_args(argv)


def held_out(data_root, split, limit):
    from audiosr.train.recipe import training_sources

    sources, _ = training_sources(data_root, "speech")
    paths = sorted(s.path for s in sources if s.split == split)
    if split == "train":  # every corpus, evenly
        paths = paths[::max(1, len(paths) // limit)]
    return paths[:limit] if limit else paths


def input_band(x_low, low_rate):
    """The band ``audiosr upsample`` would give the safety net for this low-rate recording."""
    from audiosr.bandwidth import estimate_band

    estimate = estimate_band(x_low, low_rate)
    return min(estimate.band_hz or low_rate / 2, low_rate / 2)


def calibrate(args):
    """What real speech does: the truth scored as if it were a model's output."""
    from audiosr.evaluation.scoring import load_reference
    from audiosr.lowres import SAMPLE_RATE, lowrate, model_input
    from audiosr.safety import score

    paths = held_out(args.data_root, "train", args.calibration_files)
    print(f"calibration: {len(paths)} training recordings (no held-out speaker); the 16 kHz truth as the output")
    print("| r | input made by | frames | gain in [b/2, b] p50 / p99 / p99.9 (dB) | above b: p50 / p90 / p99 "
          "(limit) | files: share of frames flagged, median / p95 / max |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for ratio in (2, 4):
        for method in args.methods.split(","):
            in_band, above, shares = [], [], []
            for path in paths:
                y = load_reference(path)
                x = lowrate(y, ratio, method)
                net = score(model_input(x, ratio, y.shape[0]), y, SAMPLE_RATE, input_band(x, SAMPLE_RATE / ratio))
                in_band += [v for v in net.in_band_db if np.isfinite(v)]
                above += [v for v in net.above_db if np.isfinite(v)]
                shares.append(net.flagged_share)
            print(f"| {ratio} | {method} | {len(in_band)} | "
                  + " / ".join(f"{np.percentile(in_band, q):.1f}" for q in (50, 99, 99.9)) + " | "
                  + " / ".join(f"{np.percentile(above, q):.1f}" for q in (50, 90, 99))
                  + f" ({net.above_limit_db:.1f}) | "
                  + " / ".join(f"{100 * v:.0f} %" for v in np.percentile(shares, [50, 95, 100])) + " |", flush=True)


def frame_fallback(spline, output, flagged, n):
    """The output with every flagged frame replaced by the spline, cross-faded by the frames' Hann windows."""
    hop = n // 2
    window = np.hanning(n + 1)[:-1]
    weight = np.zeros(spline.shape[0] + 2 * n)
    for index in np.nonzero(flagged)[0]:
        weight[index * hop:index * hop + n] += window
    weight = weight[hop:hop + spline.shape[0]]  # frame 0 starts one hop before the signal
    return output + weight * (spline - output)


def measure(args):
    from audiosr.startup import import_tensorflow

    import_tensorflow()
    from audiosr.evaluation.scoring import load_reference
    from audiosr.inference import enhance, load_model
    from audiosr.lowres import SAMPLE_RATE, lowrate, model_input
    from audiosr.metrics import lsd, snr
    from audiosr.pretrained import model_path
    from audiosr.safety import IMPLAUSIBLE_SHARE, score

    paths = held_out(args.data_root, "test", args.max_files)
    print(f"{len(paths)} held-out speech recordings, mean over files. frames: spline in every flagged frame; "
          f"file: spline for files with over {100 * IMPLAUSIBLE_SHARE:g} % of their frames flagged "
          f"(audiosr upsample's default)")
    print("| model | input made by | SNR spline | model | frames | file | LSD spline | model | frames | file "
          "| frames flagged | files to spline |")
    print("|" + " --- |" * 2 + " ---: |" * 10)
    truths = [load_reference(path) for path in paths]
    for name in args.models.split(","):
        model = load_model(model_path(name))
        ratio = model.ratio
        for method in args.methods.split(","):
            scores = {key: [] for key in ("spline", "model", "frames", "file")}
            shares, fallen = [], 0
            for y in truths:
                x = lowrate(y, ratio, method)
                spline = model_input(x, ratio, y.shape[0])
                output = enhance(model, spline)
                net = score(spline, output, SAMPLE_RATE, input_band(x, SAMPLE_RATE / ratio))
                shares.append(net.flagged_share)
                fallen += net.implausible
                estimates = {"spline": spline, "model": output,
                             "frames": frame_fallback(spline, output, net.frame_flags(), net.n),
                             "file": spline if net.implausible else output}
                for key, estimate in estimates.items():
                    scores[key].append((snr(y, estimate), lsd(y, estimate)))
            mean = {key: np.mean(values, axis=0) for key, values in scores.items()}
            print(f"| {name} | {method} | "
                  + " | ".join(f"{mean[key][0]:.2f}" for key in scores) + " | "
                  + " | ".join(f"{mean[key][1]:.2f}" for key in scores)
                  + f" | {100 * np.mean(shares):.0f} % | {fallen} / {len(truths)} |", flush=True)


def main(argv=None):
    args = parse_args(argv)
    calibrate(args) if args.calibrate else measure(args)


if __name__ == "__main__":
    main()
