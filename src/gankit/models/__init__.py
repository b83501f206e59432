"""Players: G maps noise [B, latent_dim] to data [B, *data_shape]; D returns (logits [B], features [B, F])."""
