"""Model families, one file each; every model registers itself where it is defined."""

from .conv import ConvDiscriminator
from .conv_sequence import ConvSequenceDiscriminator
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .lstm import LSTMGenerator
from .sequence import LSTMSequenceDiscriminator, LSTMSequenceGenerator
from .table import TableSequenceGenerator

__all__ = [
    "ConvDiscriminator",
    "ConvSequenceDiscriminator",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "LSTMGenerator",
    "LSTMSequenceDiscriminator",
    "LSTMSequenceGenerator",
    "TableSequenceGenerator",
]
