"""FLOP counts of a network's forward pass and of one training step, from shapes.

What is counted: the multiply-adds of convolutions and dense layers (matrix
products), 2 FLOPs each -- a Conv1D costs ``2 * k * C_in / groups * C_out``
per output sample. What is not: biases, activations, dropout, reshapes,
concatenation, the residual add, losses, metrics and optimizer updates. These
are elementwise, well under 1 % of an AudioUNet's count, and they are memory-
rather than compute-bound, so leaving them out keeps "achieved GFLOP/s"
comparable with a matrix-multiply peak.

Two counters, which agree on a forward pass (a test checks it):

- :func:`forward_flops` walks a functional Keras model's layers with the
  shapes they get for a given input shape;
- :func:`train_step_flops` traces ``model.train_step`` into a TensorFlow graph
  (nothing runs) and counts the convolution and matrix-product ops in it,
  forward and backward, that the step executes. It therefore counts what the
  step does, however many times it calls the generator or the discriminator,
  and follows any change to the training code without being told.
"""

import contextlib
import dataclasses
import math

import keras

# Layers without multiply-adds to count (elementwise or data movement), allowed to have weights.
_ELEMENTWISE_WITH_WEIGHTS = (
    keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.GroupNormalization,
    keras.layers.PReLU,
)
# TensorFlow ops that carry the counted multiply-adds.
_CONV_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter",
             "DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter")
_MATMUL_OPS = ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
_FORWARD_OPS = ("Conv2D", "DepthwiseConv2dNative") + _MATMUL_OPS


def _prod(values):
    return math.prod(int(v) for v in values)


# ------------------------------------------------------------ from layer shapes


@contextlib.contextmanager
def zero_weights():
    """Networks built inside start with every weight zero instead of its initializer's draw.

    FLOPs and parameter counts depend on shapes only, and drawing the
    orthogonal initial weights of a paper-preset AudioUNet (71 M) costs about
    20 CPU seconds; built here it takes a fraction of one, and it can still be
    compiled and its training step traced (compile outside the block: Keras
    creates no other variables inside it). Keras defers the initialisation of
    variables made in a ``StatelessScope``; this block then sets them to zero.
    """
    from keras.src.backend.common import global_state  # Keras' list of deferred variables

    key = "uninitialized_variables"
    before = list(global_state.get_global_attribute(key) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        made_here = (global_state.get_global_attribute(key) or [])[len(before):]
        global_state.set_global_attribute(key, before)
    for variable in made_here:
        variable._initializer = keras.initializers.Zeros()
        variable._deferred_initialize()



def layer_flops(layer, input_shape, output_shape):
    """Forward FLOPs of one layer for concrete (batch-including) shapes."""
    if isinstance(layer, keras.layers.SeparableConv1D):
        depthwise = _prod(output_shape[:-1]) * input_shape[-1] * layer.depth_multiplier * layer.kernel_size[0]
        pointwise = _prod(output_shape) * input_shape[-1] * layer.depth_multiplier
        return 2 * (depthwise + pointwise)
    if isinstance(layer, keras.layers.DepthwiseConv1D):
        return 2 * _prod(output_shape) * layer.kernel_size[0]
    if isinstance(layer, keras.layers.Conv1DTranspose):
        return 2 * _prod(input_shape) * layer.kernel_size[0] * output_shape[-1]
    if isinstance(layer, keras.layers.Conv1D):
        return 2 * _prod(output_shape) * layer.kernel_size[0] * input_shape[-1] // layer.groups
    if isinstance(layer, keras.layers.Dense):
        return 2 * _prod(input_shape) * layer.units
    if layer.trainable_weights and not isinstance(layer, _ELEMENTWISE_WITH_WEIGHTS):
        raise ValueError(f"cannot count FLOPs of layer {layer.name!r} ({type(layer).__name__})")
    return 0


def forward_flops_by_layer(model, input_shape):
    """``{layer name: forward FLOPs}`` of a functional model for ``input_shape`` (batch included).

    Nested functional models are expanded (their layers appear as
    ``"model/layer"``). Layers without multiply-adds appear with 0.
    """
    if len(model.inputs) != 1:
        raise ValueError(f"{model.name}: FLOPs are counted for single-input models only")
    shapes = {id(model.inputs[0]): tuple(input_shape)}
    costs = {}
    for layer in model.operations:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        inputs = layer.input
        if isinstance(inputs, (list, tuple)):
            in_shape = [shapes[id(t)] for t in inputs]
            output = layer.compute_output_spec([keras.KerasTensor(s) for s in in_shape])
        else:
            in_shape = shapes[id(inputs)]
            output = layer.compute_output_spec(keras.KerasTensor(in_shape))
        shapes[id(layer.output)] = tuple(output.shape)
        if isinstance(layer, keras.Model):
            for name, flops in forward_flops_by_layer(layer, in_shape).items():
                costs[f"{layer.name}/{name}"] = flops
        else:
            costs[layer.name] = layer_flops(layer, in_shape, output.shape)
    return costs


def forward_flops(model, input_shape):
    """Forward FLOPs of a functional model for ``input_shape`` (batch included)."""
    return sum(forward_flops_by_layer(model, input_shape).values())


def generator_input_length(generator, output_length):
    """Input length that gives ``output_length`` samples: the same for an AudioUNet (spline
    input), ``output_length / r`` for a generator that takes the low-rate signal."""
    growth = generator.compute_output_spec(keras.KerasTensor((1, output_length, 1))).shape[1] / output_length
    length = output_length / growth
    if length != int(length):
        raise ValueError(f"{generator.name}: no input length gives {output_length} output samples")
    return int(length)


# ------------------------------------------------------------ from a traced graph


def op_flops(op):
    """FLOPs of one TensorFlow op (0 for ops that are not counted)."""
    if op.type not in _CONV_OPS + _MATMUL_OPS:
        return 0
    if op.type in _MATMUL_OPS:
        a, b = (tensor.shape for tensor in op.inputs[:2])
        _check_static(op, a, b)
        transpose_a = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
        rows, inner = (a[-1], a[-2]) if transpose_a else (a[-2], a[-1])
        columns = b[-2] if op.get_attr("transpose_b" if op.type == "MatMul" else "adj_y") else b[-1]
        batch = _prod(op.outputs[0].shape[:-2])
        return 2 * batch * rows * inner * columns
    # Every convolution op (forward, and its input and filter gradients) does the
    # multiply-adds of the forward convolution: |output| * |filter| / C_out.
    if op.type.endswith("BackpropInput"):
        out, kernel = op.inputs[2].shape, op.inputs[1].shape
    elif op.type.endswith("BackpropFilter"):
        out, kernel = op.inputs[2].shape, op.outputs[0].shape
    else:
        out, kernel = op.outputs[0].shape, op.inputs[1].shape
    _check_static(op, out, kernel)
    if op.type.startswith("Depthwise"):
        return 2 * _prod(out) * _prod(kernel[:-2])
    return 2 * _prod(out) * _prod(kernel[:-1])


def _check_static(op, *shapes):
    if not all(shape.is_fully_defined() for shape in shapes):
        raise ValueError(f"cannot count FLOPs of {op.name} ({op.type}): its shapes are not static")


def graph_flops(graph):
    """FLOPs of the counted ops that running ``graph`` (a traced function's graph) executes."""
    return sum(flops for _, flops, _ in _counted_ops(graph, lambda tensor: None))


_PASS_THROUGH = ("ReadVariableOp", "Cast", "Identity", "ExpandDims")
_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")


def _counted_ops(graph, source):
    """``(op, FLOPs, weights)`` for each counted op that running ``graph`` executes, in the
    functions it calls too; ``weights`` is ``source`` of the op's weight operand for forward ops.

    Only ops the run needs are counted: those the outputs or a stateful op (a
    variable update) depend on, as TensorFlow prunes the rest (e.g. the input
    gradient of a first layer, which ``tape.gradient`` builds but nothing
    reads). ``source(tensor)`` says what a tensor of ``graph`` (past reads and
    casts) stands for: for the traced step, the captured variable.
    """
    needed, stack = set(), [t.op for t in graph.outputs] + [op for op in graph.get_operations() if op._is_stateful]
    while stack:
        op = stack.pop()
        if op not in needed:
            needed.add(op)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
    library = None
    for op in needed:
        if op.type in _CALL_OPS:
            inner = graph._get_function(op.get_attr("f").name)
            if inner is not None and getattr(inner, "graph", None) is not None:
                outer = dict(zip((id(t) for t in inner.graph.inputs), op.inputs))
                yield from _counted_ops(
                    inner.graph, lambda t, outer=outer: source(_read_through(outer[id(t)])) if id(t) in outer else None
                )
                continue
        called = list(_called_functions(op.node_def))
        if called:
            library = library or {f.signature.name: f for f in graph.as_graph_def().library.function}
            for name in called:
                if _calls_counted_ops(name, library):
                    raise ValueError(f"cannot count FLOPs inside {op.type} op {op.name}: it runs {name} an "
                                     "unknown number of times or with shapes unknown here")
        flops = op_flops(op)
        if flops:
            yield op, flops, source(_read_through(op.inputs[1])) if _is_forward(op) else None


def _read_through(tensor):
    while tensor.op.type in _PASS_THROUGH:
        tensor = tensor.op.inputs[0]
    return tensor


def _is_forward(op):
    """A forward convolution or dense product: its second operand is the weights, untransposed
    (a dense layer's gradient ops take them transposed or not at all)."""
    if op.type in _MATMUL_OPS:
        return not op.get_attr("transpose_b" if op.type == "MatMul" else "adj_y")
    return op.type in _FORWARD_OPS


def _called_functions(node_def):
    for value in node_def.attr.values():
        if value.HasField("func"):
            yield value.func.name
        elif value.HasField("list"):
            yield from (f.name for f in value.list.func)


def _calls_counted_ops(name, library, seen=None):
    seen = set() if seen is None else seen
    if name in seen or name not in library:
        return False
    seen.add(name)
    return any(node.op in _CONV_OPS + _MATMUL_OPS
               or any(_calls_counted_ops(inner, library, seen) for inner in _called_functions(node))
               for node in library[name].node_def)


@dataclasses.dataclass(frozen=True)
class TrainStepFlops:
    """FLOPs of one training step, per clip (one example of the batch)."""

    total: int  # everything the step runs: forward and backward passes of every network
    generator_forward: int  # one forward pass of the generator (counted from its layer shapes)
    generator_passes: float  # forward passes of the generator in the step
    discriminator_passes: float  # forward passes of the discriminator / critic (0 for UNet)

    @property
    def per_generator_forward(self):
        """The step's cost in generator forward passes (about 3 for UNet)."""
        return self.total / self.generator_forward


def train_step_flops(model, output_length, batch_size=1):
    """Count one ``model.train_step`` on (spline or low-rate input, target) clips of
    ``output_length`` target samples, per clip.

    ``model`` is a compiled audiosr model (UNetSR / GANSR / WGANSR or one with
    the same ``generator`` / ``discriminator`` attributes). The step is traced,
    not run: the weights do not change (an unbuilt optimizer is built).
    """
    import tensorflow as tf

    if not model.compiled:
        raise ValueError(f"{model.name}: compile the model before counting its training step")
    input_length = generator_input_length(model.generator, output_length)
    x = tf.TensorSpec((batch_size, input_length, 1), tf.float32)
    y = tf.TensorSpec((batch_size, output_length, 1), tf.float32)
    graph = tf.function(model.train_step).get_concrete_function((x, y)).graph

    networks = {"generator": model.generator, "discriminator": getattr(model, "discriminator", None)}
    handles = {id(v.value.handle): name for name, net in networks.items() if net is not None
               for v in net.weights}
    captured = {id(internal): handles.get(id(external)) for external, internal in graph.captures}
    total, forward = 0, {"generator": 0, "discriminator": 0, None: 0}
    for _, flops, owner in _counted_ops(graph, lambda tensor: captured.get(id(tensor))):
        total += flops
        forward[owner] += flops
    lengths = {"generator": input_length, "discriminator": output_length}
    one_pass = {name: forward_flops(net, (batch_size, lengths[name], 1))
                for name, net in networks.items() if net is not None}
    return TrainStepFlops(
        total=total // batch_size,
        generator_forward=one_pass["generator"] // batch_size,
        generator_passes=forward["generator"] / one_pass["generator"],
        discriminator_passes=forward["discriminator"] / one_pass["discriminator"] if "discriminator" in one_pass
        else 0.0,
    )

