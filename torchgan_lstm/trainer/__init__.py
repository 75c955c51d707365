"""Add-ons to TorchGAN's ``Trainer``: one subclass (divergence guard, EMA, strategy), step-counted
epochs, progress bar, speed switches, and the single-process and ``torchrun`` strategies."""

from .run_trainer import RunTrainer
from .steps import BudgetSpent, StepLoader
from .strategy import SingleProcess

__all__ = ["BudgetSpent", "RunTrainer", "SingleProcess", "StepLoader"]
