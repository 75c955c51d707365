"""torchgan-lstm: LSTM generators and convolutional discriminators for TorchGAN.

Importing the package applies the fixes in :mod:`torchgan_lstm.compat` and makes
``LSTMGenerator`` and ``ConvDiscriminator`` importable from ``torchgan.models``.
"""

import torchgan.models as _tg_models

from . import compat
from .guards import DataLoaderFailed, TrainingDiverged, TrainingError
from .models import ConvDiscriminator, LSTMGenerator
from .registry import get_model, get_model_builder, list_models, register_model

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

register_model("lstm_generator")(LSTMGenerator)
register_model("conv_discriminator")(ConvDiscriminator)
register_model("dcgan_generator")(_tg_models.DCGANGenerator)
register_model("dcgan_discriminator")(_tg_models.DCGANDiscriminator)

# Code and configs that look classes up in torchgan.models find ours there too.
for _cls in (LSTMGenerator, ConvDiscriminator):
    setattr(_tg_models, _cls.__name__, _cls)
