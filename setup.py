from setuptools import find_packages, setup

setup(
    name="audiosr",
    version="0.1.0",
    description="Deep-learning audio super-resolution (AudioUNet, GAN, WGAN) with Keras 3",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["audiosr", "audiosr.*"]),
    package_data={"audiosr.pretrained": ["*.keras", "*.json", "*.md"]},  # the shipped models (make pretrained)
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.3",
        "tensorflow-hub>=0.16",
        "numpy",
        "scipy",
        "librosa>=0.10",
        "soundfile>=0.12",
        "soxr",  # streaming resampler for long inputs (also a librosa dependency)
        "absl-py",
        "google-crc32c",  # TFRecord checksums: data preparation writes shards without TensorFlow
        "matplotlib",
        "tqdm",
        "tensorboard",
    ],
    # ai-edge-litert: the TFLite interpreter the export tests run (TensorFlow's tf.lite.Interpreter is deprecated)
    # pytest < 9.2: pytest-xdist 3.8's --dist loadgroup (make test) ignores the groups on pytest 9.2, whose test
    # ids no longer take xdist's group suffix (pytest-dev/pytest-xdist#1386), and a module's fixtures are then
    # built once per process.
    extras_require={"test": ["pytest>=8,<9.2", "pytest-xdist>=3.6", "ruff>=0.4", "ai-edge-litert"]},
    entry_points={"console_scripts": ["audiosr=audiosr.cli:main"]},
)
