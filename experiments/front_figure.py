"""The README's picture (``make readme-figure``): one held-out recording as a shipped model hears and improves it.

    python experiments/front_figure.py --recording=REC.flac --model=speech-r2 --out=docs/images/speech-r2.png

Spectrograms, top to bottom, of ``--seconds`` of the recording: its low-rate
input (made by ``--lowres``), the cubic spline of it, the model's output and
the original, on one colour scale. The spline and the model are made and
scored as ``audiosr evaluate`` makes and scores them (SNR and LSD of the
excerpt shown, in their titles). Pick a recording of a speaker the model
was not trained on: its card (``audiosr info MODEL``) lists them.
"""

import os

from audiosr.startup import import_tensorflow

import_tensorflow()

from absl import app, flags  # noqa: E402

from audiosr.flag_checks import require_finite_floats  # noqa: E402
from audiosr.lowres import EVALUATION_METHODS, STUDY_METHOD  # noqa: E402

flags.DEFINE_string("recording", None, "A high-rate recording (any format and rate) of a held-out speaker.")
flags.DEFINE_string("model", "speech-r2", "A shipped model's name or a model file (.keras).")
flags.DEFINE_enum("lowres", STUDY_METHOD, EVALUATION_METHODS, "How the low-rate input is made from the recording.")
flags.DEFINE_float("start", 0.0, "Where the excerpt starts, in seconds.")
flags.DEFINE_float("seconds", 3.0, "Length of the excerpt, in seconds.")
flags.DEFINE_string("out", os.path.join("docs", "images", "speech-r2.png"), "The PNG to write.")
flags.DEFINE_integer("dpi", 72, "Resolution of the PNG (the README's copy stays under 300 KB).")
flags.mark_flags_as_required(["recording"])
require_finite_floats()
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from audiosr.evaluation.scoring import load_reference, reconstruct, score_estimates
    from audiosr.inference import load_model
    from audiosr.lowres import lowrate
    from audiosr.plots import save_figure_atomic, spectrogram_figure
    from audiosr.pretrained import model_path

    model = load_model(model_path(FLAGS.model))
    ratio, rate = model.ratio, model.sample_rate
    reference = load_reference(FLAGS.recording, rate)
    excerpt = reference[int(FLAGS.start * rate): int((FLAGS.start + FLAGS.seconds) * rate)]
    if len(excerpt) < rate // 4:
        raise app.UsageError(f"{FLAGS.recording}: --start {FLAGS.start} leaves less than 0.25 s to show")
    estimates = reconstruct(excerpt, ratio, {FLAGS.model: model}, ("spline",), FLAGS.lowres)
    scores = score_estimates(excerpt, estimates)

    def scored(label, name):
        return f"{label}: SNR {scores[name]['snr']:.1f} dB, LSD {scores[name]['lsd']:.2f}"

    low_rate = rate // ratio
    signals = {
        f"Input: {low_rate / 1000:g} kHz (made by {FLAGS.lowres})": (lowrate(excerpt, ratio, FLAGS.lowres), low_rate),
        scored("Cubic spline", "spline"): estimates["spline"],
        scored(f"audiosr ({FLAGS.model})", FLAGS.model): estimates[FLAGS.model],
        f"Original: {rate / 1000:g} kHz": excerpt,
    }
    title = f"{os.path.basename(FLAGS.recording)}, {FLAGS.start:.1f}-{FLAGS.start + len(excerpt) / rate:.1f} s"
    save_figure_atomic(spectrogram_figure(signals, rate, title, row_height=1.9), FLAGS.out, dpi=FLAGS.dpi)
    print(f"wrote {FLAGS.out} ({os.path.getsize(FLAGS.out) // 1024} KB)")


if __name__ == "__main__":
    app.run(main)
