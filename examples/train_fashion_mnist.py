"""Train an LSTM generator against a conv discriminator on Fashion-MNIST with TorchGAN's Trainer.

python examples/train_fashion_mnist.py --out runs/example --epochs 1 --decoder conv

The defaults are the best pair measured (README, Benchmarks): the gated conv decoder
(LSTMGenerator's default) against TorchGAN's DCGANDiscriminator; --discriminator conv trains
against ours.
"""

import argparse
from pathlib import Path

import torch
from torch.optim import Adam
from torchgan.losses import MinimaxDiscriminatorLoss, MinimaxGeneratorLoss
from torchgan.models import DCGANDiscriminator
from torchgan.trainer import Trainer

from torchgan_lstm import ConvDiscriminator, LSTMGenerator  # also applies the compat fixes
from torchgan_lstm.data import build_dataset, make_dataloader
from torchgan_lstm.metrics import ClassCoverage, FrechetClassifierDistance

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("runs/example"))
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--decoder", choices=("conv", "rows", "canvas"), default="conv")
parser.add_argument("--discriminator", choices=("dcgan", "conv"), default="dcgan")
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--data-root", help="folder with the Fashion-MNIST files (default: search)")
args = parser.parse_args()

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
loader = make_dataloader(build_dataset("fashion-mnist", args.data_root), args.batch_size, seed=0)
# The command line's recipe: the generator at twice DCGAN's rate, the discriminator at DCGAN's.
g_adam = {"name": Adam, "args": {"lr": 4e-4, "betas": (0.5, 0.999)}}
d_adam = {"name": Adam, "args": {"lr": 2e-4, "betas": (0.5, 0.999)}}
trainer = Trainer(
    {
        "generator": {
            "name": LSTMGenerator,
            "args": {
                "out_size": 32,
                "out_channels": 1,
                "step_channels": 32,
                "decoder": args.decoder,
            },
            "optimizer": g_adam,
        },
        "discriminator": {
            "name": DCGANDiscriminator if args.discriminator == "dcgan" else ConvDiscriminator,
            "args": {"in_size": 32, "in_channels": 1, "step_channels": 32},
            "optimizer": d_adam,
        },
    },
    [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()],
    metrics_list=[FrechetClassifierDistance(sample_size=2000), ClassCoverage(sample_size=2000)],
    device=device,
    epochs=args.epochs,
    sample_size=64,
    checkpoints=str(args.out / "checkpoints" / "gan"),
    recon=str(args.out / "images"),
    log_dir=str(args.out / "tensorboard"),
)
trainer(loader)
print(f"grids in {args.out / 'images'}, TensorBoard logs in {args.out / 'tensorboard'}")
