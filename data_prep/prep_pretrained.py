"""Training data of the shipped models: ../shared/data with the held-out recordings left out.

    python data_prep/prep_pretrained.py --domain=speech --data_root=../shared/data --out_dir=data/pretrained-speech

Held-out recordings (audiosr.pretrained.HELD_OUT) go to the "test" split, so
whole-file scores can be read back with ``audiosr.data.pipeline.split_sources``.
"""

import os

from absl import app, flags, logging

from audiosr.data import prepare
from audiosr.flag_checks import require_finite_floats
from audiosr.pretrained import HELD_OUT, training_sources

import prep_flags

flags.DEFINE_enum("domain", "speech", sorted(HELD_OUT), "Which recordings: speech or music.")
flags.DEFINE_string("data_root", os.path.join("..", "shared", "data"), "Folder holding speech/ and music/.")
prep_flags.define_common(num_clips=6000)
FLAGS = flags.FLAGS


@prep_flags.clean_errors
def main(argv):
    del argv
    out_dir = prep_flags.output_dir(f"pretrained-{FLAGS.domain}")
    sources, skipped = training_sources(FLAGS.data_root, FLAGS.domain)
    info = {"corpus": "pretrained", "domain": FLAGS.domain, "data_root": os.path.abspath(FLAGS.data_root),
            "held_out": list(HELD_OUT[FLAGS.domain])}
    manifest = prepare.prepare_corpus(sources, out_dir, {"train": FLAGS.num_clips, "val": FLAGS.num_clips // 20,
                                                      "test": 0}, skipped=skipped, info=info,
                                   **prep_flags.prep_options())
    logging.info(prep_flags.summary(manifest, out_dir, f"pretrained-{FLAGS.domain}"))


if __name__ == "__main__":
    require_finite_floats()
    app.run(main)
