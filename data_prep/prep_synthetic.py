"""The embedded default data set (audiosr.data.synthetic) -> data/synthetic, no download needed.

    python data_prep/prep_synthetic.py            # ~3,000 training clips in about a minute
"""

from absl import app, flags, logging

from audiosr.data import prepare
from audiosr.flag_checks import require_finite_floats

import prep_flags

flags.DEFINE_float("utterance_seconds", 4.0, "Length of each synthetic recording.")
flags.DEFINE_float("val_fraction", 0.1, "Fraction of recordings for validation.")
flags.DEFINE_float("test_fraction", 0.1, "Fraction of recordings for test (whole-utterance evaluation).")
prep_flags.define_common(num_clips=3000)
FLAGS = flags.FLAGS


@prep_flags.clean_errors
def main(argv):
    del argv
    name = "synthetic"
    out_dir = prep_flags.output_dir(name)
    manifest = prepare.prepare_synthetic(
        out_dir, num_clips=FLAGS.num_clips, utterance_seconds=FLAGS.utterance_seconds,
        val_fraction=FLAGS.val_fraction, test_fraction=FLAGS.test_fraction, **prep_flags.prep_options())
    logging.info(prep_flags.summary(manifest, out_dir, name))


if __name__ == "__main__":
    require_finite_floats()
    app.run(main)
