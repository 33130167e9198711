"""memgen: memorization vs generalization in diffusion models, as a reproducible pipeline."""

__version__ = "0.1.0"
