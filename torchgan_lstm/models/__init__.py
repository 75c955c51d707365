"""Model families, one file each; every model registers itself where it is defined."""

from .conv import ConvDiscriminator
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .lstm import LSTMGenerator

__all__ = ["ConvDiscriminator", "DCGANDiscriminator", "DCGANGenerator", "LSTMGenerator"]
