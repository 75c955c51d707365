"""TorchGAN's DCGAN pair, registered under our names so a run can choose them like ours."""

from torchgan.models import DCGANDiscriminator, DCGANGenerator

from ..registry import register_model

__all__ = ["DCGANDiscriminator", "DCGANGenerator"]

register_model("dcgan_generator")(DCGANGenerator)
register_model("dcgan_discriminator")(DCGANDiscriminator)
