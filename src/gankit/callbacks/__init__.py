"""Lightning callbacks: sample figures written into the run directory and sent to the logger."""
