"""torchgan-lstm: LSTM generators and convolutional discriminators for TorchGAN.

Importing the package applies the fixes in :mod:`torchgan_lstm.compat` (which also makes
``LSTMGenerator`` and ``ConvDiscriminator`` importable from ``torchgan.models``).
"""

from . import compat
from .models import ConvDiscriminator, LSTMGenerator
from .registry import get_model, get_model_builder, list_models, register_model
from .trainer.guards import DataLoaderFailed, TrainingDiverged, TrainingError

__all__ = [
    "ConvDiscriminator",
    "DataLoaderFailed",
    "LSTMGenerator",
    "TrainingDiverged",
    "TrainingError",
    "get_model",
    "get_model_builder",
    "list_models",
    "register_model",
]
__version__ = "0.1.0"

compat.apply()
