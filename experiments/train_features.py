"""Train the content-loss feature network (audiosr.features' spectral autoencoder) and save it as .keras.

The "-C" models then use it where VGGish cannot be downloaded:

    python experiments/train_features.py --data_dir=data/synthetic --output=models/features.keras
    python experiments/train_features.py --audio_dir=path/to/recordings --output=models/speech.keras
    python experiments/train.py --content --content_network=models/features.keras ...

Clips come from a prepared data set (its train split; val for validation),
from a folder of recordings (prepared first into --prepared_dir by
audiosr.data.prepare, which skips and reports unreadable files), or, with neither,
from clips of the embedded synthetic generator. The model is written
atomically: a killed run never leaves a half-written --output.
"""

import os

from audiosr.startup import import_tensorflow

import_tensorflow()

from absl import app, flags, logging  # noqa: E402

from audiosr.flag_checks import require_finite_floats  # noqa: E402


def define_flags(fv=flags.FLAGS):
    """Define this app's flags on ``fv``."""
    from audiosr.data.pipeline import dataset_dir

    flags.DEFINE_string("data_dir", None, "Prepared data set (audiosr.data.prepare): train on its train split.",
                        flag_values=fv)
    flags.DEFINE_string("dataset", None, "Prepared data set by name, where data_prep/ writes it "
                        "(audiosr.data.pipeline.dataset_dir), instead of --data_dir.", flag_values=fv)
    flags.DEFINE_string("audio_dir", None, "Folder of recordings to prepare into --prepared_dir and train on.",
                        flag_values=fv)
    flags.DEFINE_string("prepared_dir", dataset_dir("features_clips"), "Where --audio_dir's clips are prepared.",
                        flag_values=fv)
    flags.DEFINE_integer("num_clips", 2000, "Training clips to cut from --audio_dir or to synthesise.",
                         lower_bound=1, flag_values=fv)
    flags.DEFINE_integer("clip_samples", 8192, "Length of synthesised clips (16 kHz samples).", lower_bound=1024,
                         flag_values=fv)
    flags.DEFINE_string("output", "models/features.keras", "The trained network (.keras).", flag_values=fv)
    flags.DEFINE_integer("epochs", 10, "Training epochs.", lower_bound=1, flag_values=fv)
    flags.DEFINE_integer("batch_size", 32, "Clips per batch.", lower_bound=1, flag_values=fv)
    flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.", flag_values=fv)
    flags.DEFINE_integer("steps_per_epoch", None, "Batches per epoch (default: the whole training set).",
                         flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of weights, data order and synthetic clips.", flag_values=fv)
    flags.DEFINE_integer("verbose", 1, "Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch.",
                         flag_values=fv)


def prepared_splits(data_dir, batch_size, seed):
    """(train, val or None) datasets of a prepared data set; the (spline, high) pairs' high half is used."""
    from audiosr.data.pipeline import make_dataset
    from audiosr.data.records import Manifest

    ratio = Manifest.load(data_dir).ratios[0]  # any prepared ratio: only the high-res clips are read
    train = make_dataset(data_dir, "train", ratio, batch_size, shuffle=True, seed=seed)
    try:
        val = make_dataset(data_dir, "val", ratio, batch_size, shuffle=False, deterministic=True,
                           drop_remainder=False)
    except ValueError as error:  # no val clips: train without validation
        logging.warning("no validation: %s", error)
        val = None
    return train, val


def training_clips(fv):
    """(train, val) clips for the flags' source."""
    from audiosr.data.pipeline import dataset_dir

    if sum(bool(source) for source in (fv.data_dir, fv.dataset, fv.audio_dir)) > 1:
        raise app.UsageError("give one of --data_dir, --dataset and --audio_dir")
    data_dir = fv.data_dir or (dataset_dir(fv.dataset) if fv.dataset else None)
    if fv.audio_dir:
        from audiosr.data.prepare import prepare_folder

        prepare_folder(fv.audio_dir, fv.prepared_dir, fv.num_clips, ratios=(2,), seed=fv.seed)
        return prepared_splits(fv.prepared_dir, fv.batch_size, fv.seed)
    if data_dir:
        return prepared_splits(data_dir, fv.batch_size, fv.seed)
    from audiosr.data.synthetic import generate_clips

    logging.info("no --data_dir or --audio_dir: training on %d synthetic clips", fv.num_clips)
    val_count = max(1, fv.num_clips // 10)
    return (generate_clips(fv.num_clips, fv.clip_samples, seed=fv.seed),
            generate_clips(val_count, fv.clip_samples, seed=fv.seed + 1))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    fv = flags.FLAGS
    if not fv.output.endswith(".keras"):
        raise app.UsageError(f"--output must end in .keras, got {fv.output}")
    from audiosr.features import save_feature_network, train_feature_network

    train, val = training_clips(fv)
    model = train_feature_network(train, epochs=fv.epochs, batch_size=fv.batch_size, learning_rate=fv.learning_rate,
                                  validation_clips=val, steps_per_epoch=fv.steps_per_epoch, seed=fv.seed,
                                  verbose=fv.verbose)
    os.makedirs(os.path.dirname(os.path.abspath(fv.output)), exist_ok=True)
    save_feature_network(model, fv.output)
    history = model.history.history
    scores = ", ".join(f"{name} {values[-1]:.4f}" for name, values in history.items())
    print(f"{fv.output}: {len(history['loss'])} epochs; {scores}. "
          f"Use it with: python experiments/train.py --content --content_network={fv.output}")


if __name__ == "__main__":
    define_flags()
    require_finite_floats()
    app.run(main)
