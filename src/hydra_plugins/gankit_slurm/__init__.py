"""gankit's SLURM launcher, where Hydra looks for plugins (hydra_plugins.*); the logic is in gankit.slurm."""
