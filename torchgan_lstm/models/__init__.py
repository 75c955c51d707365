"""Model families: one file each."""

from .conv import ConvDiscriminator
from .lstm import LSTMGenerator

__all__ = ["ConvDiscriminator", "LSTMGenerator"]
