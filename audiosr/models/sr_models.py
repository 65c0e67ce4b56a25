"""UNetSR, GANSR and WGANSR: the study's models as keras.Model subclasses.

Each wraps an AudioUNet generator (``model(x)`` is the generator's output) and
overrides ``train_step`` / ``test_step`` with the losses of DESIGN.md, so
plain ``model.fit(dataset)`` trains them. Datasets yield
``(spline_input, high_res)`` pairs of shape (batch, T, 1).

Validation reports ``loss`` = L2 (+ content term): the reconstruction
objective without the adversarial part, so validation curves and "best
model" choices compare across the three models. It also reports SNR and LSD.

The optional content network (any frozen Keras layer or model mapping
(batch, T, 1) audio to features) is a training aid and is not written into
``.keras`` files: a loaded model upsamples without it, and training scripts
pass it again when they resume.
"""

import keras
import tensorflow as tf
from keras import ops

from audiosr import losses
from audiosr.lowres import SAMPLE_RATE
from audiosr.metrics import lsd_per_example, snr_per_example


def _per_replica(loss):
    """Scale a per-replica mean so that the optimizer's all-reduce sums to the global mean."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


@keras.saving.register_keras_serializable(package="audiosr")
class UNetSR(keras.Model):
    """The generator alone, trained on L2 (plus an optional content loss)."""

    def __init__(self, generator, ratio=2, sample_rate=SAMPLE_RATE, content_network=None,
                 content_weight=1.0, stft_weight=0.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.ratio = int(ratio)
        self.sample_rate = int(sample_rate)
        self.content_weight = float(content_weight)
        self.stft_weight = float(stft_weight)
        self.content_network = content_network
        if content_network is not None:
            content_network.trainable = False
        names = ["loss", "l2"] + (["content"] if content_network is not None else [])
        names += ["stft"] if self.stft_weight > 0 else []
        self._train_trackers = {n: keras.metrics.Mean(name=n) for n in names + self._extra_train_terms()}
        self._val_trackers = {n: keras.metrics.Mean(name=n) for n in names + ["snr", "lsd"]}
        self.built = True  # the sub-networks are built functional models

    @property
    def input_rate(self):
        """Rate of the recordings this model upsamples (its output rate / ratio)."""
        return self.sample_rate // self.ratio

    @property
    def length_multiple(self):
        """Input lengths must be multiples of this (the generator's total stride)."""
        from audiosr.models.generator import generator_length_multiple

        return generator_length_multiple(self.generator)

    def _extra_train_terms(self):
        return []

    @property
    def metrics(self):
        return list(self._train_trackers.values()) + list(self._val_trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _reconstruction_terms(self, y_true, y_pred):
        """L2 and, for "-C" models, the weighted content loss; optionally the weighted STFT loss."""
        terms = {"l2": losses.l2_loss(y_true, y_pred)}
        total = terms["l2"]
        if self.content_network is not None:
            terms["content"] = losses.content_loss(
                self.content_network(y_true, training=False), self.content_network(y_pred, training=False)
            )
            total = total + self.content_weight * terms["content"]
        if self.stft_weight > 0:
            terms["stft"] = losses.multi_resolution_stft_loss(y_true, y_pred)
            total = total + self.stft_weight * terms["stft"]
        return total, terms

    @staticmethod
    def _update(trackers, values):
        for name, value in values.items():
            trackers[name].update_state(value)
        return {name: trackers[name].result() for name in trackers}

    def train_step(self, data):
        x, y = data[0], data[1]
        with tf.GradientTape() as tape:
            y_pred = self.generator(x, training=True)
            loss, terms = self._reconstruction_terms(y, y_pred)
            scaled = _per_replica(loss)
        weights = self.generator.trainable_weights
        self.optimizer.apply(tape.gradient(scaled, weights), weights)
        return self._update(self._train_trackers, {"loss": loss, **terms})

    def test_step(self, data):
        x, y = data[0], data[1]
        y_pred = self.generator(x, training=False)
        loss, terms = self._reconstruction_terms(y, y_pred)
        values = {"loss": loss, **terms, "snr": snr_per_example(y, y_pred), "lsd": lsd_per_example(y, y_pred)}
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
    """Shared machinery of GANSR and WGANSR: a second network and optimizer."""

    def __init__(self, generator, discriminator, lambda_adv=0.01, **kwargs):
        super().__init__(generator, **kwargs)
        self.discriminator = discriminator
        self.lambda_adv = float(lambda_adv)

    def compile(self, optimizer="adam", d_optimizer=None, **kwargs):
        """``optimizer`` trains the generator, ``d_optimizer`` the discriminator/critic
        (default: a fresh copy of ``optimizer``)."""
        super().compile(optimizer=optimizer, **kwargs)
        if d_optimizer is None:
            d_optimizer = self.optimizer.__class__.from_config(self.optimizer.get_config())
        self.d_optimizer = keras.optimizers.get(d_optimizer)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {
            "optimizer": keras.saving.serialize_keras_object(self.optimizer),
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
        }

    def compile_from_config(self, config):
        self.compile(
            optimizer=keras.saving.deserialize_keras_object(config["optimizer"]),
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
        )
        # Build both optimizers so their saved state (moments, step) loads too.
        self.optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def _generator_step(self, x, y, adversarial_loss):
        """One generator update on reconstruction + lambda_adv * adversarial loss."""
        with tf.GradientTape() as tape:
            y_pred = self.generator(x, training=True)
            reconstruction, terms = self._reconstruction_terms(y, y_pred)
            adv = adversarial_loss(self.discriminator(y_pred, training=True))
            loss = reconstruction + self.lambda_adv * adv
            scaled = _per_replica(loss)
        weights = self.generator.trainable_weights
        self.optimizer.apply(tape.gradient(scaled, weights), weights)
        return {"loss": loss, "adv": adv, **terms}

    def get_config(self):
        return {
            **super().get_config(),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "lambda_adv": self.lambda_adv,
        }


@keras.saving.register_keras_serializable(package="audiosr")
class GANSR(_AdversarialSR):
    """AudioUNet generator against a discriminator with logits (non-saturating GAN)."""

    def _extra_train_terms(self):
        return ["adv", "d_loss"]

    def train_step(self, data):
        x, y = data[0], data[1]
        fake = self.generator(x, training=True)
        with tf.GradientTape() as tape:
            d_loss = losses.discriminator_loss(
                self.discriminator(y, training=True), self.discriminator(fake, training=True)
            )
            scaled = _per_replica(d_loss)
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply(tape.gradient(scaled, weights), weights)
        values = self._generator_step(x, y, losses.generator_adversarial_loss)
        return self._update(self._train_trackers, {**values, "d_loss": d_loss})


@keras.saving.register_keras_serializable(package="audiosr")
class WGANSR(_AdversarialSR):
    """AudioUNet generator against a critic (Wasserstein loss).

    Each batch gives ``n_critic`` critic updates (on that batch, as in the
    keras-io WGAN example, so one epoch makes one generator update per batch
    for every model), each followed by clipping the critic's weights to
    [-clip_value, clip_value], then one generator update. With
    ``gp_weight > 0`` a gradient penalty (alpha ~ U(0, 1)) is added;
    ``clip_value=None`` turns clipping off.
    """

    def __init__(self, generator, discriminator, n_critic=5, clip_value=0.01, gp_weight=0.0,
                 seed=None, **kwargs):
        self.gp_weight = float(gp_weight)  # read by _extra_train_terms in the base __init__
        super().__init__(generator, discriminator, **kwargs)
        self.n_critic = int(n_critic)
        self.clip_value = None if clip_value is None else float(clip_value)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _extra_train_terms(self):
        return ["adv", "critic_loss"] + (["gradient_penalty"] if self.gp_weight > 0 else [])

    def _gradient_penalty(self, real, fake):
        batch = ops.shape(real)[0]
        alpha = keras.random.uniform((batch, 1, 1), seed=self.seed_generator)
        mixed = alpha * real + (1.0 - alpha) * fake
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            scores = self.discriminator(mixed, training=True)
        grads = tape.gradient(scores, mixed)
        norms = ops.sqrt(ops.sum(ops.square(grads), axis=(1, 2)) + 1e-12)
        return ops.mean(ops.square(norms - 1.0))

    def _critic_step(self, x, y):
        fake = self.generator(x, training=True)
        values = {}
        with tf.GradientTape() as tape:
            loss = losses.critic_loss(self.discriminator(y, training=True), self.discriminator(fake, training=True))
            values["critic_loss"] = loss
            if self.gp_weight > 0:
                values["gradient_penalty"] = self._gradient_penalty(y, fake)
                loss = loss + self.gp_weight * values["gradient_penalty"]
            scaled = _per_replica(loss)
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply(tape.gradient(scaled, weights), weights)
        if self.clip_value is not None:
            for weight in weights:
                weight.assign(ops.clip(weight, -self.clip_value, self.clip_value))
        return values

    def train_step(self, data):
        x, y = data[0], data[1]
        for _ in range(self.n_critic):
            critic_values = self._critic_step(x, y)
        values = self._generator_step(x, y, losses.generator_critic_loss)
        return self._update(self._train_trackers, {**values, **critic_values})

    def get_config(self):
        return {
            **super().get_config(),
            "n_critic": self.n_critic,
            "clip_value": self.clip_value,
            "gp_weight": self.gp_weight,
            "seed": self.seed,
        }
