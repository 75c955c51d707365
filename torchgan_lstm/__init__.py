"""torchgan-lstm: LSTM generators and convolutional discriminators for TorchGAN.

Importing the package applies the fixes in :mod:`torchgan_lstm.compat` (which also makes this
package's models importable from ``torchgan.models``).
"""

from . import compat
from .models import (
    ConvDiscriminator,
    ConvSequenceDiscriminator,
    LSTMGenerator,
    LSTMSequenceDiscriminator,
    LSTMSequenceGenerator,
)
from .registry import get_model, get_model_builder, list_models, register_model
from .trainer.guards import DataLoaderFailed, TrainingDiverged, TrainingError

__all__ = [
    "ConvDiscriminator",
    "ConvSequenceDiscriminator",
    "DataLoaderFailed",
    "LSTMGenerator",
    "LSTMSequenceDiscriminator",
    "LSTMSequenceGenerator",
    "TrainingDiverged",
    "TrainingError",
    "get_model",
    "get_model_builder",
    "list_models",
    "register_model",
]
__version__ = "0.1.0"

compat.apply()
