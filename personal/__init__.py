"""personal: your own small language model, trained on your machine."""

__version__ = "0.1.0"
