"""gankit: train, evaluate and compare GANs with PyTorch Lightning and Hydra."""

from gankit import resolvers

__version__ = "0.1.0"
resolvers.register()  # ${gankit.product:...} in conf/ resolves wherever gankit is imported
