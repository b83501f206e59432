"""Sweeps, in one place: launching a study, labelling its runs, reading the runs back and reporting on them.
`sweep.py` at the repository root is only their command line.

- `launch.py`: a study (conf/sweep/NAME.yaml) as one Hydra multirun of train.py;
- `study.py`: each run's W&B group and tags from its varied overrides (train.py calls `label_run`);
- `failures.py`: the multirun's end (a Hydra callback, conf/train.yaml): the failed runs in one line, exit 1;
- `runs.py`: the jobs of a sweep directory and what each left (metrics.json, evaluations.json, error.txt);
- `statistics.py`: mean, standard error, Welch intervals;
- `report.py`, `montage.py`: tables, CSV files, plots, the samples montage;
- `aggregate.py`: all of them written into the sweep directory;
- `dashboard.py`: the study's W&B workspace.
"""
