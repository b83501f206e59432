"""Evaluation metrics: toy mode coverage (VEEGAN/PacGAN), digits FID/IS, image FID/IS/KID."""
