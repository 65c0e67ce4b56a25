import keras
import pytest
import tensorflow as tf

import audiosr.models as m
from audiosr.models import flops
from audiosr.models.layers import SubPixel1D

LENGTH = 1024

# Hand count of the tiny AudioUNet on 1024 samples: 2 * k * C_in * C_out * T_out per convolution.
TINY_LAYERS = {
    "down0_conv": 2 * 9 * 1 * 8 * 512,
    "down1_conv": 2 * 5 * 8 * 16 * 256,
    "bottleneck_conv": 2 * 5 * 16 * 16 * 128,
    "up1_conv": 2 * 5 * 16 * 32 * 128,
    "up0_conv": 2 * 9 * 32 * 16 * 256,  # input: 16 subpixel channels + 16 skip channels
    "final_conv": 2 * 9 * 16 * 2 * 512,
}
# The discriminator with base_filters=4 on 1024 samples: kernel 25, stride 4, then one dense unit.
DISCRIMINATOR_LAYERS = {
    "conv0": 2 * 25 * 1 * 4 * 256,
    "conv1": 2 * 25 * 4 * 8 * 64,
    "conv2": 2 * 25 * 8 * 16 * 16,
    "conv3": 2 * 25 * 16 * 32 * 4,
    "score": 2 * 4 * 32 * 1,
}


def traced_forward(network, length):
    spec = tf.TensorSpec((1, length, 1), tf.float32)
    graph = tf.function(lambda x: network(x, training=False)).get_concrete_function(spec).graph
    return flops.graph_flops(graph)


def uncompiled(kind, **kwargs):
    return m.build_model(kind, 2, preset="tiny", input_length=LENGTH, discriminator_filters=4, seed=0, **kwargs)


def compiled(kind, **kwargs):
    model = uncompiled(kind, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def test_layer_count_matches_hand_count():
    by_layer = flops.forward_flops_by_layer(m.build_audiounet("tiny"), (1, LENGTH, 1))
    assert {name: count for name, count in by_layer.items() if count} == TINY_LAYERS
    assert flops.forward_flops(m.build_audiounet("tiny"), (3, LENGTH, 1)) == 3 * sum(TINY_LAYERS.values())
    discriminator = m.build_discriminator(LENGTH, base_filters=4)
    assert flops.forward_flops(discriminator, (1, LENGTH, 1)) == sum(DISCRIMINATOR_LAYERS.values())


def test_cpu_and_paper_presets_cost_what_the_study_says():
    assert round(flops.forward_flops(m.build_audiounet("cpu"), (1, 8192, 1)) / 1e9, 2) == 3.54
    with flops.zero_weights():  # shapes are all the count needs
        paper = m.build_audiounet("paper")
    assert paper.count_params() == 70_977_154
    by_layer = flops.forward_flops_by_layer(paper, (1, 8192, 1))
    total = sum(by_layer.values())
    assert round(total / 1e9) == 143
    assert round((by_layer["up1_conv"] + by_layer["up0_conv"]) / total, 2) == 0.74


def test_graph_count_agrees_with_layer_count():
    assert traced_forward(m.build_audiounet("tiny"), LENGTH) == sum(TINY_LAYERS.values())
    assert traced_forward(m.build_discriminator(LENGTH, base_filters=4), LENGTH) == sum(DISCRIMINATOR_LAYERS.values())


def test_other_layer_kinds_agree_with_the_graph_count():
    inputs = keras.Input((None, 4))
    x = keras.layers.Conv1D(8, 5, padding="same", groups=2, name="grouped")(inputs)
    x = keras.layers.DepthwiseConv1D(3, depth_multiplier=2, padding="same", name="depthwise")(x)
    x = keras.layers.SeparableConv1D(6, 3, padding="same", name="separable")(x)
    x = keras.layers.Conv1DTranspose(4, 4, strides=2, padding="same", name="transpose")(x)
    x = keras.layers.LayerNormalization(name="norm")(x)
    outputs = keras.layers.Dense(3, name="dense")(x)
    model = keras.Model(inputs, outputs)
    by_layer = flops.forward_flops_by_layer(model, (1, 32, 4))
    assert by_layer == {
        "grouped": 2 * 5 * (4 // 2) * 8 * 32,
        "depthwise": 2 * 3 * 16 * 32,
        "separable": 2 * (3 * 16 * 32 + 16 * 6 * 32),
        "transpose": 2 * 4 * 6 * 4 * 32,  # per input sample: k * C_in * C_out
        "norm": 0,
        "dense": 2 * 4 * 3 * 64,
    }
    spec = tf.TensorSpec((1, 32, 4), tf.float32)
    graph = tf.function(lambda x: model(x)).get_concrete_function(spec).graph
    assert flops.graph_flops(graph) == sum(by_layer.values())


def test_step_through_a_nested_function():
    """Keras runs a grouped convolution in a nested XLA function: its forward and backward count too."""
    inputs = keras.Input((None, 1))
    x = keras.layers.Conv1D(4, 5, padding="same", name="first")(inputs)
    x = keras.layers.Conv1D(4, 3, padding="same", groups=2, name="grouped")(x)
    generator = keras.Model(inputs, keras.layers.Conv1D(1, 3, padding="same", name="last")(x))
    model = m.UNetSR(generator)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    counted = flops.train_step_flops(model, LENGTH)
    first = 2 * 5 * 1 * 4 * LENGTH
    assert counted.generator_forward == first + 2 * 3 * 2 * 4 * LENGTH + 2 * 3 * 4 * 1 * LENGTH
    assert counted.generator_passes == 1
    assert counted.total == 3 * counted.generator_forward - first


def test_unet_step_is_three_forward_passes_less_the_unneeded_input_gradient():
    counted = flops.train_step_flops(compiled("unet"), LENGTH)
    forward = sum(TINY_LAYERS.values())
    assert counted.generator_forward == forward
    assert (counted.generator_passes, counted.discriminator_passes) == (1, 0)
    # Forward, weight gradients, input gradients of every layer but the first (nothing reads that one).
    assert counted.total == 3 * forward - TINY_LAYERS["down0_conv"]


@pytest.mark.parametrize("kind, n_critic", [("gan", 1), ("wgan", 2)])
def test_adversarial_step_counts_every_pass(kind, n_critic):
    model = compiled(kind, **({"n_critic": n_critic} if kind == "wgan" else {}))
    counted = flops.train_step_flops(model, LENGTH)
    g, d = sum(TINY_LAYERS.values()), sum(DISCRIMINATOR_LAYERS.values())
    # Per critic update: D on real and fake, its weight gradients (2 D) and input gradients
    # (2 D less the first layer's); per generator update: D on the output and back to it (2 D).
    # The scores of all but the last critic update are never read, and the dense layer's weight
    # gradient does not need them: TensorFlow skips those two products per earlier update.
    skipped = 2 * (n_critic - 1) * DISCRIMINATOR_LAYERS["score"]
    assert counted.discriminator_passes * d == (2 * n_critic + 1) * d - skipped
    passes = counted.generator_passes
    assert passes >= 1 and passes == int(passes)
    expected = (passes * g + 2 * g - TINY_LAYERS["down0_conv"]
                + n_critic * (6 * d - 2 * DISCRIMINATOR_LAYERS["conv0"]) + 2 * d - skipped)
    assert counted.total == expected


def test_step_count_follows_the_train_step():
    class TwiceForward(m.UNetSR):
        def train_step(self, data):
            # Train on the generator's own output: one forward pass more, outside the tape.
            return super().train_step((self.generator(data[0], training=False), data[1]))

    model = TwiceForward(m.build_audiounet("tiny"))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    counted = flops.train_step_flops(model, LENGTH)
    assert counted.generator_passes == 2
    assert counted.total == 4 * sum(TINY_LAYERS.values()) - TINY_LAYERS["down0_conv"]


def test_low_rate_input_generator():
    """A generator that takes the low-rate signal gets T / r input samples for T output samples."""
    inputs = keras.Input((None, 1))
    outputs = SubPixel1D(2)(keras.layers.Conv1D(2, 9, padding="same", name="conv")(inputs))
    generator = keras.Model(inputs, outputs)
    assert flops.generator_input_length(generator, LENGTH) == LENGTH // 2
    model = m.UNetSR(generator)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    counted = flops.train_step_flops(model, LENGTH)
    assert counted.generator_forward == 2 * 9 * 1 * 2 * (LENGTH // 2)
    assert counted.total == 2 * counted.generator_forward  # forward + weight gradient, no input gradient


def test_zero_weights_builds_what_the_initializers_would_and_leaves_later_builds_alone():
    """A network built with zero weights has the same weights, FLOPs and training-step count as a drawn one."""
    with flops.zero_weights():
        zero = uncompiled("unet")
    drawn = uncompiled("unet")
    assert [w.shape for w in zero.weights] == [w.shape for w in drawn.weights]
    assert all(not w.numpy().any() for w in zero.weights)
    for model in (zero, drawn):
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
    assert flops.train_step_flops(zero, LENGTH) == flops.train_step_flops(drawn, LENGTH)
    assert any(w.numpy().any() for w in m.build_audiounet("tiny").weights)  # drawn again outside the block


def test_uncountable_layer_and_uncompiled_model_are_refused():
    inputs = keras.Input((None, 1))
    outputs = keras.layers.GRU(4, return_sequences=True, name="gru")(inputs)
    with pytest.raises(ValueError, match="gru"):
        flops.forward_flops(keras.Model(inputs, outputs), (1, 64, 1))
    with pytest.raises(ValueError, match="compile"):
        flops.train_step_flops(m.build_model("unet", 2, preset="tiny"), LENGTH)
