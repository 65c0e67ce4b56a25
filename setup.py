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
        "matplotlib",
        "tqdm",
        "tensorboard",
    ],
    # ai-edge-litert: the TFLite interpreter the export tests run (TensorFlow's tf.lite.Interpreter is deprecated)
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3", "ruff>=0.4", "ai-edge-litert"]},
    entry_points={"console_scripts": ["audiosr=audiosr.cli:main"]},
)
