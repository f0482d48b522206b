"""alarmd: a wake-up call daemon."""

__version__ = "0.1.0"
