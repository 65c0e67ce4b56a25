"""How well the effective-band estimate decides, on real recordings and on copies of them band-limited.

Two tables, both over ``--data_root`` (``../shared/data``):

1. the recordings as they are, by folder and rate: the estimated band as a
   share of the container's Nyquist frequency (min / median), and how many
   files pass through unchanged (``audiosr upsample``'s decision with the
   shipped speech models);
2. 16 kHz speech made low-rate by each method of :mod:`audiosr.lowres` at
   8 kHz and 4 kHz, then resampled back up (soxr) to 16 kHz and 44.1 kHz, as
   float and as dithered 16-bit: the estimate as a share of the low Nyquist
   frequency (min / median / max) and how many copies get the model meant
   for them (speech-r2 for 8 kHz audio, speech-r4 for 4 kHz audio).

    python bench/bench_bandwidth.py --files 26

No TensorFlow is needed: the decision is :func:`audiosr.planning.plan` with
the shipped models' rates.
"""

import argparse
import collections
import glob
import itertools
import os
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_root", default=str(ROOT.parent / "shared" / "data"), help="the recordings")
    parser.add_argument("--files", type=int, default=26, help="speech files made low-rate (spread over corpora)")
    parser.add_argument("--per_folder", type=int, default=0, help="recordings per folder in table 1 (0: all)")
    parser.add_argument("--seconds", type=float, default=0, help="read only the first S seconds of each file in "
                        "table 1 (0: whole files)")
    parser.add_argument("--methods", default="all", help="audiosr.lowres methods, comma separated, or all")
    parser.add_argument("--rates", default="16000,44100", help="rates the low-rate copies are resampled up to")
    return parser.parse_args(argv)


def decision(rate, band):
    from audiosr.planning import plan
    from audiosr.pretrained import candidates

    chosen = plan(rate, band, candidates()).model
    return chosen.name if chosen else "pass"


def as_is(args):
    import soundfile

    from audiosr.bandwidth import estimate_band

    print("| recordings | rate | files | band / Nyquist: min / median | passed through |")
    print("| --- | ---: | ---: | ---: | ---: |")
    groups = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(args.data_root, "*", "**", "*.*"), recursive=True)):
        if path.lower().endswith((".flac", ".wav", ".ogg", ".mp3")):
            relative = os.path.relpath(path, args.data_root)
            folder = os.path.dirname(relative)
            groups[(folder, soundfile.info(path).samplerate)].append(path)
    for (folder, rate), paths in sorted(groups.items()):
        paths = paths[::max(1, len(paths) // args.per_folder)] if args.per_folder else paths
        shares, passed = [], 0
        for path in paths:
            frames = int(args.seconds * rate) if args.seconds else -1
            audio, rate = soundfile.read(path, frames=frames, dtype="float32", always_2d=True)
            band = estimate_band(audio, rate).band_hz
            shares.append(band / (rate / 2) if band else 1.0)
            passed += decision(rate, band) == "pass"
        print(f"| {folder} | {rate} | {len(paths)} | {min(shares):.2f} / {np.median(shares):.2f} | "
              f"{passed} / {len(paths)} |", flush=True)


def speech_files(data_root, count):
    """Up to ``count`` speech files taken in turn from each corpus folder, spread along each folder."""
    folders = [sorted(glob.glob(os.path.join(folder, "*.flac")))
               for folder in sorted(glob.glob(os.path.join(data_root, "speech", "*")))]
    folders = [found for found in folders if found]
    per = -(-count // max(1, len(folders)))
    spread = [found[::max(1, len(found) // per)][:per] for found in folders]
    return [path for turn in itertools.zip_longest(*spread) for path in turn if path][:count]


def band_limited(args):
    import soundfile
    import soxr

    from audiosr import lowres
    from audiosr.bandwidth import estimate_band

    rng = np.random.default_rng(0)
    truths = []
    for path in speech_files(args.data_root, args.files):
        audio, rate = soundfile.read(path, dtype="float32")
        truths.append(soxr.resample(audio, rate, lowres.SAMPLE_RATE) if rate != lowres.SAMPLE_RATE else audio)
    methods = list(lowres.METHODS) if args.methods == "all" else args.methods.split(",")
    rates = [int(r) for r in args.rates.split(",")]
    print(f"\n{len(truths)} speech files made low-rate, resampled up (soxr); band / low Nyquist min / median / max, "
          "and the copies that get the model meant for them")
    print("| low rate | method | " + " | ".join(f"{rate} Hz {kind}" for rate in rates for kind in ("float", "16-bit"))
          + " |")
    print("| --- | --- |" + " ---: |" * (2 * len(rates)))
    for ratio, expected in ((2, "speech-r2"), (4, "speech-r4")):
        low_rate = lowres.SAMPLE_RATE // ratio
        for method in methods:
            try:
                lowres.check_method(method, ratio)
            except ValueError:
                continue
            cells = collections.defaultdict(list)
            for y in truths:
                x = lowres.lowrate(y, ratio, method, rng=rng)
                for rate in rates:
                    up = soxr.resample(x, low_rate, rate)
                    dither = rng.uniform(-0.5, 0.5, up.shape) + rng.uniform(-0.5, 0.5, up.shape)
                    for kind, signal in (("float", up), ("16-bit", np.round(up * 32767 + dither) / 32767)):
                        band = estimate_band(signal, rate).band_hz
                        cells[(rate, kind)].append((band / (low_rate / 2), decision(rate, band) == expected))
            row = []
            for rate in rates:
                for kind in ("float", "16-bit"):
                    shares = np.array([share for share, _ in cells[(rate, kind)]])
                    right = sum(ok for _, ok in cells[(rate, kind)])
                    row.append(f"{shares.min():.2f} / {np.median(shares):.2f} / {shares.max():.2f}, "
                               f"{right}/{shares.size}")
            print(f"| {low_rate} Hz | {method} | " + " | ".join(row) + " |", flush=True)


def main(argv=None):
    args = parse_args(argv)
    as_is(args)
    band_limited(args)


if __name__ == "__main__":
    main()
