"""Export a trained run as a shipped model: audiosr/pretrained/<name>.keras + <name>.json.

    python experiments/export_pretrained.py --run=runs/speech-r2/best.keras --name=speech-r2 --domain=speech --ratio=2

Scores the held-out recordings of the domain (whole files, model vs spline)
into the metadata that ``audiosr models`` lists.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from audiosr import pretrained  # noqa: E402

flags.DEFINE_string("run", None, "Trained model file (a run's best.keras).")
flags.DEFINE_string("name", None, "Name of the shipped model, e.g. speech-r2.")
flags.DEFINE_enum("domain", "speech", sorted(pretrained.HELD_OUT), "Recordings it was trained on.")
flags.DEFINE_integer("ratio", 2, "Upsampling ratio of the run.")
flags.DEFINE_string("preset", "fast", "Generator preset of the run.")
flags.DEFINE_string("data_root", os.path.join("..", "shared", "data"), "Folder holding speech/ and music/.")
flags.DEFINE_string("out_dir", pretrained.PACKAGE_DIR, "Where the model and its metadata go.")
flags.mark_flags_as_required(["run", "name"])
FLAGS = flags.FLAGS


def main(argv):
    del argv
    meta = pretrained.export(FLAGS.run, FLAGS.name, FLAGS.domain, FLAGS.ratio, FLAGS.preset, FLAGS.out_dir,
                             FLAGS.data_root, progress=True)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    app.run(main)
