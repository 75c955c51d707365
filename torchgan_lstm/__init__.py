"""torchgan-lstm: LSTM generators and convolutional discriminators for TorchGAN.

Importing the package applies the fixes in :mod:`torchgan_lstm.compat` (which also makes this
package's models importable from ``torchgan.models``).
"""

from . import compat
from ._validation import InputError
from .app.config import ModelSpec, RunConfig
from .app.export import export_generator, load_exported
from .app.run import load_generator, train
from .models import (
    ConvDiscriminator,
    ConvSequenceDiscriminator,
    LSTMGenerator,
    LSTMSequenceDiscriminator,
    LSTMSequenceGenerator,
    TableSequenceGenerator,
)
from .registry import get_model, get_model_builder, list_models, register_model
from .trainer.guards import DataLoaderFailed, TrainingDiverged, TrainingError

__all__ = [
    "ConvDiscriminator",
    "ConvSequenceDiscriminator",
    "DataLoaderFailed",
    "InputError",
    "LSTMGenerator",
    "LSTMSequenceDiscriminator",
    "LSTMSequenceGenerator",
    "ModelSpec",
    "RunConfig",
    "TableSequenceGenerator",
    "TrainingDiverged",
    "TrainingError",
    "export_generator",
    "get_model",
    "get_model_builder",
    "list_models",
    "load_exported",
    "load_generator",
    "register_model",
    "train",
]
__version__ = "0.2.0"

compat.apply()
