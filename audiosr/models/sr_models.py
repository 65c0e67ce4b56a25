"""UNetSR, GANSR and WGANSR: the study's models as keras.Model subclasses.

Each wraps an AudioUNet generator (``model(x)`` is the generator's output) and
overrides ``train_step`` / ``test_step`` with the losses of :mod:`audiosr.models.losses`, so
plain ``model.fit(dataset)`` trains them. Datasets yield
``(spline_input, high_res)`` pairs of shape (batch, T, 1).

Each objective is a weighted sum of named terms: ``model.loss_weights`` for
the generator (``l2``, ``content``, ``stft``, ``adv``) and ``model.d_loss_weights``
for the discriminator / critic; every term is logged under its name. Adding a
term is one entry in the weights and one in the code that computes it.

Validation reports ``loss`` = the reconstruction objective without the
adversarial part (L2 + weighted content and STFT terms), so validation curves and
"best model" choices compare across the three models. It also reports SNR
and LSD. Keras prefixes all of them with ``val_`` in ``fit``'s logs.

``compile`` builds each optimizer over its own network's weights (the
generator's, the discriminator's), inside the model's tf.distribute
strategy, so distributed training works and a resumed run restores both
optimizers' states. Under the ``mixed_float16`` policy both optimizers scale
the loss; the residual sum, the discriminator's score and the losses stay
float32 under any policy.

The optional content network (any frozen Keras layer or model mapping
(batch, T, 1) audio to features) is a training aid and is not written into
``.keras`` files: a loaded model upsamples without it, and training scripts
pass it again when they resume.
"""

import keras
import tensorflow as tf
from keras import ops

from audiosr.lowres import SAMPLE_RATE
from audiosr.metrics import lsd_per_example, snr_per_example
from audiosr.models import losses
from audiosr.models.generator import length_multiple
from audiosr.models.layers import replica_seed


class DistributedCompileError(ValueError):
    """Compile options that Keras' ``fit`` cannot run under a multi-replica strategy."""


def check_compile_options(strategy, jit_compile=False, steps_per_execution=1):
    """Raise :class:`DistributedCompileError` for XLA or several steps per call under more than one replica.

    With Keras 3.15 / TensorFlow 2.21 ``fit`` under MirroredStrategy then
    fails at its first step ("You must feed a value for placeholder tensor",
    keras-team/keras#19246), whatever the model; on one device both work.
    """
    if strategy.num_replicas_in_sync > 1 and (jit_compile is True or int(steps_per_execution) > 1):
        raise DistributedCompileError(
            f"jit_compile={jit_compile!r} / steps_per_execution={steps_per_execution} cannot train on "
            f"{strategy.num_replicas_in_sync} replicas: Keras' fit fails under a multi-replica tf.distribute "
            "strategy with either (keras-team/keras#19246). Use them on one device, or neither with the strategy."
        )


def _per_replica(loss):
    """Scale a per-replica mean so that the optimizer's all-reduce sums to the global mean."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


def _unpack(data):
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if sample_weight is not None:
        raise ValueError("audiosr models take (input, target) pairs; sample weights are not supported")
    return x, y


def _minimize(optimizer, tape, scaled_loss, weights):
    """Apply the gradient of ``scaled_loss`` (from :func:`_scaled`, recorded on ``tape``) to ``weights``."""
    optimizer.apply(tape.gradient(scaled_loss, weights), weights)


def _scaled(optimizer, loss):
    """``loss`` divided over replicas and multiplied by the optimizer's loss scale (mixed_float16).

    Must run while the tape records; the optimizer unscales the gradients.
    """
    return optimizer.scale_loss(_per_replica(loss))


@keras.saving.register_keras_serializable(package="audiosr")
class UNetSR(keras.Model):
    """The generator alone, trained on L2 (plus an optional content loss)."""

    # Each optimizer's ``compile`` argument and attribute name -> the network it trains.
    OPTIMIZERS = {"optimizer": "generator"}

    def __init__(self, generator, ratio=2, sample_rate=SAMPLE_RATE, content_network=None,
                 content_weight=1.0, stft_weight=0.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.ratio = int(ratio)
        self.sample_rate = int(sample_rate)
        self.content_weight = float(content_weight)
        self.stft_weight = float(stft_weight)
        self.content_network = content_network
        # The generator's objective: sum of weight * term (the reconstruction terms are also validation's).
        self.loss_weights = {"l2": 1.0}
        if content_network is not None:
            content_network.trainable = False
            self.loss_weights["content"] = self.content_weight
        if self.stft_weight > 0:
            self.loss_weights["stft"] = self.stft_weight
        self._train_trackers, self._val_trackers = {}, {}
        self._add_trackers(["loss", *self.loss_weights], validation=True)
        self._add_trackers(["snr", "lsd"], train=False, validation=True)
        self.built = True  # the sub-networks are built functional models

    def _add_trackers(self, names, train=True, validation=False):
        """Mean trackers for ``names``; validation's are named ``val_<name>`` so Keras keeps the two sets apart."""
        for name in names:
            if train:
                self._train_trackers[name] = keras.metrics.Mean(name=name)
            if validation:
                self._val_trackers[name] = keras.metrics.Mean(name=f"val_{name}")

    @property
    def input_rate(self):
        """Rate of the recordings this model upsamples: output rate / ratio (16000 / 3 is not an integer)."""
        return self.sample_rate / self.ratio

    @property
    def length_multiple(self):
        """Input lengths must be multiples of this (the generator's total stride)."""
        return length_multiple(self.generator)

    @property
    def metrics(self):
        return list(self._train_trackers.values()) + list(self._val_trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    # ------------------------------------------------------------------ compiling

    def compile(self, optimizer="adam", **kwargs):
        """``keras.Model.compile``; then each optimizer is built over its own network's weights.

        Keras would build ``optimizer`` over every trainable weight (the
        discriminator's too) and a second optimizer lazily inside the first
        replica step, which fails under a strategy. Pass ``jit_compile`` as
        True or False: Keras' default "auto" turns XLA off under any
        tf.distribute strategy; under a multi-replica strategy neither XLA nor
        ``steps_per_execution`` > 1 works (see :func:`check_compile_options`).
        """
        check_compile_options(self.distribute_strategy, kwargs.get("jit_compile", False),
                              kwargs.get("steps_per_execution", 1))
        super().compile(optimizer=optimizer, **kwargs)
        with self.distribute_strategy.scope():
            for name, network in self.OPTIMIZERS.items():
                if not getattr(self, name).built:
                    getattr(self, name).build(getattr(self, network).trainable_variables)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        config = {name: keras.saving.serialize_keras_object(getattr(self, name)) for name in self.OPTIMIZERS}
        return {**config, "jit_compile": self.jit_compile, "steps_per_execution": self.steps_per_execution}

    def compile_from_config(self, config):
        kwargs = {name: keras.saving.deserialize_keras_object(config[name]) for name in self.OPTIMIZERS
                  if name in config}
        kwargs.update({k: config[k] for k in ("jit_compile", "steps_per_execution") if k in config})
        self.compile(**kwargs)

    # ------------------------------------------------------------------ steps

    def _reconstruction_terms(self, y_true, y_pred):
        """The unweighted reconstruction terms: L2, the content loss ("-C" models), the STFT loss (``stft_weight``)."""
        terms = {"l2": losses.l2_loss(y_true, y_pred)}
        if self.content_network is not None:
            terms["content"] = losses.content_loss(
                self.content_network(y_true, training=False), self.content_network(y_pred, training=False)
            )
        if self.stft_weight > 0:
            terms["stft"] = losses.multi_resolution_stft_loss(y_true, y_pred)
        return terms

    @staticmethod
    def _update(trackers, values):
        for name, value in values.items():
            trackers[name].update_state(value)
        return {name: trackers[name].result() for name in trackers}

    def train_step(self, data):
        x, y = _unpack(data)
        with tf.GradientTape() as tape:
            y_pred = self.generator(x, training=True)
            terms = self._reconstruction_terms(y, y_pred)
            loss = losses.weighted_sum(self.loss_weights, terms)
            scaled = _scaled(self.optimizer, loss)
        _minimize(self.optimizer, tape, scaled, self.generator.trainable_weights)
        return self._update(self._train_trackers, {"loss": loss, **terms})

    def test_step(self, data):
        x, y = _unpack(data)
        y_pred = self.generator(x, training=False)
        terms = self._reconstruction_terms(y, y_pred)
        values = {"loss": losses.weighted_sum(self.loss_weights, terms), **terms,
                  "snr": snr_per_example(y, y_pred), "lsd": lsd_per_example(y, y_pred)}
        return self._update(self._val_trackers, values)

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "ratio": self.ratio,
            "sample_rate": self.sample_rate,
            "content_weight": self.content_weight,
            "stft_weight": self.stft_weight,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            if key in config:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


class _AdversarialSR(UNetSR):
    """Shared machinery of GANSR and WGANSR: a second network, its optimizer and its objective.

    One training step runs the generator forward once: the discriminator /
    critic updates score that output with its gradient stopped, and the
    generator's update (reconstruction + ``lambda_adv`` * adversarial term,
    scored by the updated discriminator) reuses it.
    """

    OPTIMIZERS = {**UNetSR.OPTIMIZERS, "d_optimizer": "discriminator"}

    def __init__(self, generator, discriminator, d_loss_weights, lambda_adv=0.01, **kwargs):
        super().__init__(generator, **kwargs)
        self.discriminator = discriminator
        self.lambda_adv = float(lambda_adv)
        self.loss_weights["adv"] = self.lambda_adv
        self.d_loss_weights = dict(d_loss_weights)
        self._add_trackers(["adv", *self.d_loss_weights])

    def compile(self, optimizer="adam", d_optimizer=None, **kwargs):
        """``optimizer`` trains the generator, ``d_optimizer`` the discriminator/critic
        (default: a fresh copy of ``optimizer``)."""
        optimizer = keras.optimizers.get(optimizer)
        if d_optimizer is None:
            d_optimizer = optimizer.__class__.from_config(optimizer.get_config())
        d_optimizer = keras.optimizers.get(d_optimizer)
        # Keras wraps only ``optimizer`` for mixed_float16 (in super().compile); wrap the other one too.
        scaling = keras.optimizers.LossScaleOptimizer
        if self.dtype_policy.name == "mixed_float16" and not isinstance(d_optimizer, scaling):
            d_optimizer = scaling(d_optimizer, name="d_loss_scale_optimizer")
        self.d_optimizer = d_optimizer
        super().compile(optimizer=optimizer, **kwargs)

    def _adversarial_loss(self, fake_scores):
        raise NotImplementedError

    def _discriminator_terms(self, real, fake):
        """The unweighted terms of the discriminator's / critic's objective."""
        raise NotImplementedError

    def _discriminator_update(self, real, fake):
        """One discriminator / critic update on its weighted terms; returns the terms."""
        with tf.GradientTape() as tape:
            terms = self._discriminator_terms(real, fake)
            scaled = _scaled(self.d_optimizer, losses.weighted_sum(self.d_loss_weights, terms))
        _minimize(self.d_optimizer, tape, scaled, self.discriminator.trainable_weights)
        return terms

    def _discriminator_updates(self, real, fake):
        """Every discriminator update of one step (GAN: one)."""
        return self._discriminator_update(real, fake)

    def train_step(self, data):
        x, y = _unpack(data)
        with tf.GradientTape() as tape:
            fake = self.generator(x, training=True)
            terms = self._reconstruction_terms(y, fake)
            with tape.stop_recording():
                d_terms = self._discriminator_updates(y, ops.stop_gradient(fake))
            terms["adv"] = self._adversarial_loss(self.discriminator(fake, training=True))
            loss = losses.weighted_sum(self.loss_weights, terms)
            scaled = _scaled(self.optimizer, loss)
        _minimize(self.optimizer, tape, scaled, self.generator.trainable_weights)
        return self._update(self._train_trackers, {"loss": loss, **terms, **d_terms})

    def get_config(self):
        return {
            **super().get_config(),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "lambda_adv": self.lambda_adv,
        }


@keras.saving.register_keras_serializable(package="audiosr")
class GANSR(_AdversarialSR):
    """AudioUNet generator against a discriminator with logits (non-saturating GAN)."""

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(generator, discriminator, {"d_loss": 1.0}, **kwargs)

    def _adversarial_loss(self, fake_scores):
        return losses.generator_adversarial_loss(fake_scores)

    def _discriminator_terms(self, real, fake):
        return {"d_loss": losses.discriminator_loss(self.discriminator(real, training=True),
                                                    self.discriminator(fake, training=True))}


@keras.saving.register_keras_serializable(package="audiosr")
class WGANSR(_AdversarialSR):
    """AudioUNet generator against a critic (Wasserstein loss).

    Each batch gives ``n_critic`` critic updates (on that batch and the same
    generator output, as in the keras-io WGAN example, so one epoch makes one
    generator update per batch for every model), each followed by clipping the
    critic's weights to [-clip_value, clip_value], then one generator update.
    With ``gp_weight > 0`` a gradient penalty (alpha ~ U(0, 1)) is added;
    ``clip_value=None`` turns clipping off.
    """

    def __init__(self, generator, discriminator, n_critic=5, clip_value=0.01, gp_weight=0.0,
                 seed=None, **kwargs):
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be at least 1 (critic updates per generator update), got {n_critic}")
        gp_weight = float(gp_weight)
        weights = {"critic_loss": 1.0, **({"gradient_penalty": gp_weight} if gp_weight > 0 else {})}
        super().__init__(generator, discriminator, weights, **kwargs)
        self.n_critic = int(n_critic)
        self.clip_value = None if clip_value is None else float(clip_value)
        self.gp_weight = gp_weight
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _adversarial_loss(self, fake_scores):
        return losses.generator_critic_loss(fake_scores)

    def _discriminator_terms(self, real, fake):
        terms = {"critic_loss": losses.critic_loss(self.discriminator(real, training=True),
                                                   self.discriminator(fake, training=True))}
        if "gradient_penalty" in self.d_loss_weights:
            alpha = tf.random.stateless_uniform((ops.shape(real)[0], 1, 1), replica_seed(self.seed_generator))
            terms["gradient_penalty"] = losses.gradient_penalty(self.discriminator, real, fake, alpha)
        return terms

    def _discriminator_updates(self, real, fake):
        for _ in range(self.n_critic):
            terms = self._discriminator_update(real, fake)
            if self.clip_value is not None:
                for weight in self.discriminator.trainable_weights:
                    weight.assign(ops.clip(weight, -self.clip_value, self.clip_value))
        return terms

    def get_config(self):
        return {
            **super().get_config(),
            "n_critic": self.n_critic,
            "clip_value": self.clip_value,
            "gp_weight": self.gp_weight,
            "seed": self.seed,
        }
