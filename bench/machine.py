"""What the benchmarks run on, and the yardsticks they share.

- :func:`describe`: the CPU model (and its vector extensions that matter for
  float32 / bfloat16 matrix products), cores, and the GPU when there is one;
- :func:`matmul_peak`: the machine's own float32 matrix-multiply rate,
  measured in the same run as the figure it is compared with, so a loaded or
  throttled machine shows up in both;
- :func:`repeat` and :class:`Spread`: min / median / max over repeated runs.
"""

import dataclasses
import os
import platform
import statistics
import time

_CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")


@dataclasses.dataclass(frozen=True)
class Spread:
    """Min / median / max of repeated measurements."""

    min: float
    median: float
    max: float

    @classmethod
    def of(cls, values):
        values = list(values)
        return cls(min(values), statistics.median(values), max(values))

    def scaled(self, factor):
        """``factor / value`` turns seconds into a rate: the fastest run gives the max."""
        return Spread(factor / self.max, factor / self.median, factor / self.min)

    def times(self, factor):
        return Spread(self.min * factor, self.median * factor, self.max * factor)

    def __format__(self, spec):
        spec = spec or ".3g"
        return f"{self.min:{spec}} / {self.median:{spec}} / {self.max:{spec}}"


def repeat(fn, repeats, warmup=1):
    """Seconds per call of ``fn`` over ``repeats`` timed calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return Spread.of(seconds)


def cpu_model():
    """``model name`` from /proc/cpuinfo (else the platform's processor string)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags():
    """The matrix-relevant instruction-set extensions the CPU reports."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), [])
    except OSError:
        flags = []
    return [flag for flag in _CPU_FLAGS if flag in flags]


def gpu_names():
    import tensorflow as tf

    return [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in tf.config.list_physical_devices("GPU")]


def describe():
    """One line naming the machine: CPU model, extensions, cores, GPUs, TF version."""
    import tensorflow as tf

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpus = gpu_names()
    return (f"CPU {cpu_model()} ({', '.join(cpu_flags()) or 'no AVX2'}; {cores} cores usable), "
            f"GPU {', '.join(gpus) if gpus else 'none'}, TensorFlow {tf.__version__}")


def matmul_peak(size=2048, repeats=10, dtype="float32"):
    """Achieved GFLOP/s of ``size`` x ``size`` matrix products in TensorFlow.

    Each timed call chains enough products to last about 0.1 s (at least
    one), so call overhead and, on a GPU, launch latency do not count.
    Returns a :class:`Spread` of GFLOP/s.
    """
    import tensorflow as tf

    rng = tf.random.Generator.from_seed(0)
    a = rng.normal((size, size), dtype=dtype) / size ** 0.5
    b = rng.normal((size, size), dtype=dtype) / size ** 0.5

    def chain(products):
        @tf.function
        def run():
            c = a
            for _ in range(products):
                c = tf.matmul(c, b)
            return tf.reduce_sum(c)  # one scalar back: the host waits for the device
        return run

    flops = 2.0 * size ** 3
    probe = chain(1)
    probe()
    once = repeat(lambda: probe().numpy(), 3).median
    products = max(1, min(1000, int(0.1 / max(once, 1e-6))))
    run = chain(products)
    return repeat(lambda: run().numpy(), repeats).scaled(products * flops / 1e9)
