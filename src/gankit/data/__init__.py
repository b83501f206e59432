"""Datamodules yield real batches [B, *data_shape] and offer `sample_real(n)` for figures and metrics."""
