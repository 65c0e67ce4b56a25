"""VCTK -> TFRecord shards, split as in Kuleshov et al. (multi-speaker or speaker p225).

    python data_prep/prep_vctk.py --vctk_dir=/path/to/VCTK-Corpus-0.92   # -> data/vctk
    python data_prep/prep_vctk.py --download --mode=single                # -> data/vctk-single

The study's multi-speaker set is ``vctk`` (what make train-vctk-*
trains on); ``--mode=single`` makes ``vctk-single``: train and evaluate on it
with ``--dataset=vctk-single``.
"""

import os

from absl import app, flags, logging

from audiosr.data import corpora, download, pipeline, prepare
from audiosr.flag_checks import require_finite_floats

import prep_flags

flags.DEFINE_string("vctk_dir", None, "VCTK folder (0.92 wav48_silence_trimmed/ or 0.80 wav48/ layout).")
flags.DEFINE_bool("download", False, "Download VCTK 0.92 from Edinburgh DataShare when --vctk_dir is not given.")
flags.DEFINE_string("download_dir", os.path.join(pipeline.data_root(), "downloads"),
                    "Where --download puts and unzips the archive.")
flags.DEFINE_enum("mode", "multi", ["multi", "single"], "Multi-speaker (split by speaker) or one speaker.")
flags.DEFINE_list("test_speakers", list(corpora.KULESHOV_TEST_SPEAKERS), "Held-out speakers (multi).")
flags.DEFINE_integer("num_val_speakers", 4, "Validation speakers drawn from the others (multi).")
flags.DEFINE_string("speaker", "p225", "The speaker of --mode=single.")
flags.DEFINE_integer("num_val_utterances", 8, "Validation utterances (single).")
flags.DEFINE_integer("num_test_utterances", 8, "Last utterances held out for test (single).")
flags.DEFINE_string("mic", "mic1", "Microphone of the 0.92 layout.")
prep_flags.define_common()
FLAGS = flags.FLAGS


@prep_flags.clean_errors
def main(argv):
    del argv
    if FLAGS.vctk_dir:
        root = FLAGS.vctk_dir
    elif FLAGS.download:
        root = download.fetch_vctk(FLAGS.download_dir)
    else:
        raise app.UsageError("pass --vctk_dir=/path/to/VCTK or --download")
    name = pipeline.dataset_name("vctk", FLAGS.mode)
    out_dir = prep_flags.output_dir(name)
    manifest = prepare.prepare_vctk(
        root, out_dir, num_clips=FLAGS.num_clips, mode=FLAGS.mode, test_speakers=FLAGS.test_speakers,
        num_val_speakers=FLAGS.num_val_speakers, speaker=FLAGS.speaker,
        num_val_utterances=FLAGS.num_val_utterances, num_test_utterances=FLAGS.num_test_utterances,
        mic=FLAGS.mic, **prep_flags.prep_options())
    logging.info(prep_flags.summary(manifest, out_dir, name))


if __name__ == "__main__":
    require_finite_floats()
    app.run(main)
