"""FMA (fma_small / fma_medium / fma_large MP3s) -> TFRecord shards, split by track.

    python data_prep/prep_fma.py --fma_dir=/path/to/fma   # holds fma_medium/ and fma_metadata/ -> data/fma
    python data_prep/prep_fma.py --download --subset=small   # -> data/fma-small

fma_medium is the study's set, ``fma`` (what make train-fma-*
trains on); another subset makes ``fma-<subset>``: train and evaluate on it
with ``--dataset=fma-<subset>``.
"""

import os

from absl import app, flags, logging

from audiosr.data import download, pipeline, prepare
from audiosr.flag_checks import require_finite_floats

import prep_flags

flags.DEFINE_string("fma_dir", None, "Folder holding fma_<subset>/ (and fma_metadata/), or fma_<subset>/ itself.")
flags.DEFINE_enum("subset", "medium", ["small", "medium", "large", "full"], "FMA subset.")
flags.DEFINE_string("metadata_dir", None, "fma_metadata folder if not beside the audio.")
flags.DEFINE_bool("download", False, "Download FMA from its archive when --fma_dir is not given.")
flags.DEFINE_string("download_dir", os.path.join(pipeline.data_root(), "downloads"),
                    "Where --download puts and unzips the archives.")
flags.DEFINE_float("val_fraction", 0.1, "Validation tracks when there is no fma_metadata.")
flags.DEFINE_float("test_fraction", 0.1, "Test tracks when there is no fma_metadata.")
prep_flags.define_common()
FLAGS = flags.FLAGS


@prep_flags.clean_errors
def main(argv):
    del argv
    if FLAGS.fma_dir:
        root = FLAGS.fma_dir
    elif FLAGS.download:
        root = download.fetch_fma(FLAGS.download_dir, FLAGS.subset)
    else:
        raise app.UsageError("pass --fma_dir=/path/to/fma or --download")
    name = pipeline.dataset_name("fma", FLAGS.subset)
    out_dir = prep_flags.output_dir(name)
    manifest = prepare.prepare_fma(
        root, out_dir, num_clips=FLAGS.num_clips, subset=f"fma_{FLAGS.subset}", metadata_dir=FLAGS.metadata_dir,
        val_fraction=FLAGS.val_fraction, test_fraction=FLAGS.test_fraction, **prep_flags.prep_options())
    logging.info(prep_flags.summary(manifest, out_dir, name))


if __name__ == "__main__":
    require_finite_floats()
    app.run(main)
