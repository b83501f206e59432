"""Generators map noise [B, latent_dim] to data [B, *data_shape]; discriminators return (logits [B], features [B, F])."""
