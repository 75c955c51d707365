"""Add-ons to TorchGAN's ``Trainer``: step-counted epochs, EMA, guards, progress, torchrun."""
