"""Evaluation metrics: toy mode coverage (Srivastava et al. 2017; Lin et al. 2018), digits FID/IS, image FID/IS/KID."""
