"""Training data of the shipped models: a folder of speech/ and music/ recordings, split by speaker / piece.

    python data_prep/prep_pretrained.py --domain=speech --data_root=../shared/data --out_dir=data/pretrained-speech

The split is the recipe's (audiosr.train.recipe.training_sources): held-out
speakers (pieces) go to the "test" split, never cut into clips, so
whole-file scores can be read back with
``audiosr.data.pipeline.split_sources``; a few more to "val", which chooses
the best epoch.
"""

import os

from absl import app, flags, logging

from audiosr.data import prepare
from audiosr.flag_checks import require_finite_floats
from audiosr.train import recipe

import prep_flags

flags.DEFINE_enum("domain", "speech", recipe.DOMAINS, "Which recordings: speech or music.")
flags.DEFINE_string("data_root", os.path.join("..", "shared", "data"), "Folder holding speech/ and music/.")
prep_flags.define_common(num_clips=20000)
FLAGS = flags.FLAGS


@prep_flags.clean_errors
def main(argv):
    del argv
    out_dir = prep_flags.output_dir(f"pretrained-{FLAGS.domain}")
    sources, skipped = recipe.training_sources(FLAGS.data_root, FLAGS.domain)
    info = {"corpus": "pretrained", "domain": FLAGS.domain, "held_out": recipe.held_out(sources),
            "validation": recipe.held_out(sources, "val")}
    manifest = prepare.prepare_corpus(sources, out_dir, {"train": FLAGS.num_clips, "val": FLAGS.num_clips // 20,
                                                      "test": 0}, skipped=skipped, info=info,
                                   **prep_flags.prep_options())
    logging.info(prep_flags.summary(manifest, out_dir, f"pretrained-{FLAGS.domain}"))


if __name__ == "__main__":
    require_finite_floats()
    app.run(main)
