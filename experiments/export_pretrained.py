"""Export a trained run as a shipped model: audiosr/pretrained/<name>.keras, <name>.json and <name>.md (its card).

    python experiments/export_pretrained.py --run=runs/speech-r2/best.keras --name=speech-r2 --domain=speech

Scores the held-out speakers (pieces, for music) of the recipe
(audiosr.train.recipe) on whole files, with the input made by every input
maker of audiosr.lowres.EVALUATION_METHODS, and ships the model only if it
passes the recipe's gate (exit status 3 and nothing written otherwise). The
metadata records what actually ran: the run's flags, its epochs and steps,
the data by corpus and licence, the held-out speakers.
"""

import os
import sys

from audiosr.startup import import_tensorflow

import_tensorflow()

from absl import app, flags  # noqa: E402

from audiosr.pretrained import PACKAGE_DIR  # noqa: E402
from audiosr.train import recipe  # noqa: E402

flags.DEFINE_string("run", None, "Trained model file (a run's best.keras).")
flags.DEFINE_string("name", None, "Name of the shipped model, e.g. speech-r2.")
flags.DEFINE_enum("domain", "speech", recipe.DOMAINS, "Recordings it was trained on.")
flags.DEFINE_string("data_root", os.path.join("..", "shared", "data"), "Folder holding speech/ and music/.")
flags.DEFINE_string("out_dir", PACKAGE_DIR, "Where the model, its metadata and its card go.")
flags.mark_flags_as_required(["run", "name"])
FLAGS = flags.FLAGS
EXIT_NOT_SHIPPED = 3


def flag_values(run_flags):
    """{name: value} of a run's ``--name=value`` flags."""
    return dict(flag[2:].split("=", 1) for flag in run_flags if "=" in flag)


def run_record(trained_path):
    """What the run of ``trained_path`` (a run folder's best.keras) did: its flags (where it wrote left out),
    epochs run, optimizer steps and the epoch whose weights are best.keras."""
    from audiosr.train.fit import HISTORY_NAME, SETTINGS_NAME
    from audiosr.train.history import read_history

    run_dir = os.path.dirname(os.path.abspath(trained_path))
    with open(os.path.join(run_dir, SETTINGS_NAME), encoding="utf-8") as handle:
        run_flags = [f for f in handle.read().split() if not f.startswith(("--logdir", "--run_name", "--verbose"))]
    losses = read_history(os.path.join(run_dir, HISTORY_NAME))["val_loss"]
    steps_per_epoch = flag_values(run_flags).get("steps_per_epoch", "None")
    return {"flags": run_flags, "epochs_run": len(losses),
            "steps": len(losses) * int(steps_per_epoch) if steps_per_epoch != "None" else None,
            "best_epoch": 1 + min(range(len(losses)), key=losses.__getitem__)}


def score_held_out(model, ratio, paths):
    """{input maker: {"spline": ..., "model": ...}} on the held-out files, every maker of EVALUATION_METHODS."""
    from audiosr.evaluation.scoring import by_lowres, score_references, summarize
    from audiosr.lowres import EVALUATION_METHODS

    rows = score_references(paths, ratio, {"model": model}, progress=True, lowres=EVALUATION_METHODS)
    return {maker: {method: {key: round(value, 3) for key, value in values.items()}
                    for method, values in summarize(maker_rows).items()}
            for maker, maker_rows in by_lowres(rows).items()}


def model_card(meta):
    """The markdown card of a shipped model, from its metadata."""
    unit = meta["held_out"]["unit"]
    lines = [
        f"# {meta['name']}: x{meta['ratio']} {meta['domain']} super-resolution, "
        f"{meta['input_rate']:g} Hz -> {meta['output_rate']} Hz",
        "",
        f"- Network: the `{meta['preset']}` generator, {meta['parameters']:,} parameters, float32; "
        f"{meta['gflop_per_second']:.2f} GFLOP per second of output audio.",
        f"- Trained: {meta['training']['steps']:,} optimizer steps ({meta['training']['epochs_run']} epochs run; "
        f"the shipped weights are epoch {meta['training']['best_epoch']}'s, the lowest validation loss), "
        f"with `{' '.join(meta['training']['flags'])}`.",
        "- Inputs it was trained on: one low-rate maker drawn per clip from the mix `"
        + meta["training"]["lowres"] + "` (see docs/input-makers.md).",
        "",
        f"## Data ({meta['domain']})",
        "",
        "| corpus | licence | files | speakers or pieces |",
        "| --- | --- | ---: | ---: |",
        *[f"| {d['corpus']} | {d['licence']} | {d['files']} | {d['speakers_or_pieces']} |" for d in meta["data"]],
        "",
        f"Held out for scoring (never trained on or used to choose the epoch): {len(meta['held_out']['groups'])} "
        f"{unit}, {meta['held_out']['files']} files, {meta['held_out']['seconds'] / 60:.1f} minutes: "
        + ", ".join(meta["held_out"]["groups"]) + ".",
        "",
        "## Measured quality on the held-out files",
        "",
        "Whole files, mean over files; the low-rate input made from each 16 kHz recording by each maker.",
        "",
        "| input made by | spline SNR (dB) | model SNR (dB) | margin | spline LSD | model LSD | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for maker, score in meta["scores"].items():
        spline, model = score["spline"], score["model"]
        lines.append(f"| {maker} | {spline['snr']:.2f} | {model['snr']:.2f} | {model['snr'] - spline['snr']:+.2f} | "
                     f"{spline['lsd']:.2f} | {model['lsd']:.2f} | {model['lsd'] / spline['lsd']:.2f}x |")
    lines += [
        "",
        "## Use and limits",
        "",
        f"- For {meta['domain']} recorded or stored at {meta['input_rate']:g} Hz (or whose content stops near "
        f"{meta['input_rate'] / 2000:g} kHz): `audiosr upsample` picks it from each file's band.",
        "- It adds the band above the input's; it cannot restore what a codec or a phone line removed below it, "
        "and SNR on inputs delayed by a causal filter (phones, analogue chains) measures the delay, not the band.",
        "- Trained on read English speech by adults and children; other languages, noisy or reverberant "
        "recordings and singing were not measured." if meta["domain"] == "speech" else
        "- Trained on 30 minutes of music (rock, piano, samples); genres outside it were not measured.",
        "",
    ]
    return "\n".join(lines)


def export(trained_path, name, domain, data_root, out_dir):
    """Score the run's model on the held-out set; if it passes the gate, write it, its metadata and its card.

    Returns ``(metadata, failures)``; nothing is written when ``failures`` is not empty.
    """
    import soundfile

    from audiosr.atomic import save_atomic, write_json_atomic, write_text_atomic
    from audiosr.inference import load_model
    from audiosr.lowres import SAMPLE_RATE
    from audiosr.models import UNetSR, build_generator
    from audiosr.models.flops import forward_flops

    record = run_record(trained_path)
    settings = flag_values(record["flags"])
    trained = load_model(trained_path)
    ratio, preset = trained.ratio, settings.get("preset", "fast")
    generator = build_generator(preset, ratio)
    generator.set_weights(trained.generator.get_weights())
    model = UNetSR(generator, ratio=ratio, sample_rate=trained.sample_rate, name=name)
    sources, _ = recipe.training_sources(data_root, domain)
    test = [s.path for s in sources if s.split == "test"]
    meta = {
        "name": name, "domain": domain, "ratio": ratio, "preset": preset,
        "input_rate": trained.sample_rate / ratio, "output_rate": trained.sample_rate,
        "parameters": generator.count_params(),
        "gflop_per_second": forward_flops(generator, (1, SAMPLE_RATE, 1)) / 1e9,
        "training": {**record, "lowres": settings.get("lowres", "decimate")},
        "data": recipe.data_sources(sources, data_root),
        "held_out": {"unit": "speakers" if domain == "speech" else "pieces",
                     "groups": recipe.held_out(sources), "files": len(test),
                     "seconds": round(sum(soundfile.info(p).duration for p in test), 1)},
        "scores": score_held_out(model, ratio, test),
    }
    failures = recipe.gate(meta["scores"])
    if not failures:
        os.makedirs(out_dir, exist_ok=True)
        save_atomic(model.save, os.path.join(out_dir, f"{name}.keras"))
        write_json_atomic(os.path.join(out_dir, f"{name}.json"), meta)
        write_text_atomic(os.path.join(out_dir, f"{name}.md"), model_card(meta))
    return meta, failures


def main(argv):
    del argv
    meta, failures = export(FLAGS.run, FLAGS.name, FLAGS.domain, FLAGS.data_root, FLAGS.out_dir)
    print(model_card(meta))
    if failures:
        print(f"{FLAGS.name} is not shipped: it fails the gate: {'; '.join(failures)}", file=sys.stderr)
        return EXIT_NOT_SHIPPED
    print(f"shipped {FLAGS.name} to {FLAGS.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    app.run(main)
