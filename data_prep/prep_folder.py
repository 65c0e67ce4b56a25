"""Any folder of recordings -> TFRecord shards, split by file (or by sub-folder).

    python data_prep/prep_folder.py --folder=/path/to/recordings --num_clips=5000
"""

import os

from absl import app, flags, logging

from audiosr.data import prepare
from audiosr.flag_checks import require_finite_floats

import prep_flags

flags.DEFINE_string("folder", None, "Folder of audio files (searched recursively).")
flags.DEFINE_float("val_fraction", 0.1, "Fraction of files (or sub-folders) for validation.")
flags.DEFINE_float("test_fraction", 0.0, "Fraction of files (or sub-folders) held out for test.")
flags.DEFINE_enum("group_by", "file", ["file", "folder"], "Keep each file, or each sub-folder, in one split.")
flags.mark_flag_as_required("folder")
prep_flags.define_common()
FLAGS = flags.FLAGS


@prep_flags.clean_errors
def main(argv):
    del argv
    name = os.path.basename(os.path.normpath(FLAGS.folder))
    out_dir = prep_flags.output_dir(name)
    manifest = prepare.prepare_folder(
        FLAGS.folder, out_dir, FLAGS.num_clips, val_fraction=FLAGS.val_fraction,
        test_fraction=FLAGS.test_fraction, group_by=FLAGS.group_by, **prep_flags.prep_options())
    logging.info(prep_flags.summary(manifest, out_dir, name))


if __name__ == "__main__":
    require_finite_floats()
    app.run(main)
