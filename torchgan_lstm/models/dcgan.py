"""TorchGAN's DCGAN pair, registered under our names so a run can choose them like ours."""

from collections.abc import Mapping

from torchgan.models import DCGANDiscriminator, DCGANGenerator

from .._validation import check_int
from ..registry import register_model

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "check_dcgan_args"]

register_model("dcgan_generator")(DCGANGenerator)
register_model("dcgan_discriminator")(DCGANDiscriminator)

# TorchGAN builds these models from any integers and fails only in the first forward pass
# (an empty or negative tensor), after a run has started.
_COUNT_ARGS = {
    DCGANGenerator: ("encoding_dims", "out_channels", "step_channels"),
    DCGANDiscriminator: ("in_channels", "step_channels"),
}


def check_dcgan_args(cls: type, init_args: Mapping[str, object]) -> None:
    """Refuse counts that TorchGAN's DCGAN models accept but cannot run.

    Args:
        cls: the model class about to be built; other classes are left alone.
        init_args: its constructor arguments.

    Raises:
        InputError: a count (``encoding_dims``, ``step_channels``, channels) given to a DCGAN
            model is not an integer >= 1; the message names the class and argument.
    """
    for arg in _COUNT_ARGS.get(cls, ()):
        if arg in init_args:
            check_int(f"{cls.__name__}'s {arg}", init_args[arg])
