"""SLURM: the launcher of `hydra/launcher=slurm` and what it asks the scheduler for (see README, Clusters)."""

MAX_REQUEUES_ENV = "GANKIT_SLURM_MAX_REQUEUES"  # the launcher's max_num_timeout, exported to the jobs by sbatch
