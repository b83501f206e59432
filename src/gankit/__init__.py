"""gankit: train, evaluate and compare GANs with PyTorch Lightning and Hydra."""

__version__ = "0.1.0"
