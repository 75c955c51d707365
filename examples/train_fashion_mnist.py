"""Train the command line's image recipe on Fashion-MNIST with TorchGAN's Trainer, as a script.

python examples/train_fashion_mnist.py --out runs/example --epochs 1

What it trains, and why: the shipped defaults of `torchgan-lstm train` (the pair measured ahead
of TorchGAN's DCGAN in the benchmarks): LSTMGenerator with the gated conv decoder, hidden 128,
one layer and gate_scale 10, against ConvDiscriminator (TorchGAN's DCGAN critic), minimax, batch
64, Adam 4e-4 for the generator and 2e-4 for the critic, samples from a moving average of the
generator (decay 0.99, RunTrainer). What differs from the command line: TorchGAN counts epochs
(937 steps each) where the command line counts steps and evaluates every 500, and there is no
exact resume. --decoder rows|canvas and --discriminator dcgan try the other choices.
"""

import argparse
from pathlib import Path

import torch
from torch.optim import Adam
from torchgan.losses import MinimaxDiscriminatorLoss, MinimaxGeneratorLoss
from torchgan.models import DCGANDiscriminator

from torchgan_lstm import ConvDiscriminator, LSTMGenerator  # also applies the compat fixes
from torchgan_lstm.data import build_dataset, make_dataloader
from torchgan_lstm.metrics import ClassCoverage, FrechetClassifierDistance
from torchgan_lstm.trainer import RunTrainer

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("runs/example"))
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--decoder", choices=("conv", "rows", "canvas"), default="conv")
parser.add_argument("--discriminator", choices=("conv", "dcgan"), default="conv")
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--limit", type=int, help="train on the first LIMIT images only")
parser.add_argument("--metric-samples", type=int, default=2000, help="0: no metrics")
parser.add_argument("--data-root", help="folder with the Fashion-MNIST files (default: search)")
args = parser.parse_args()

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
dataset = build_dataset("fashion-mnist", args.data_root)
if args.limit:
    dataset = torch.utils.data.Subset(dataset, range(min(args.limit, len(dataset))))
loader = make_dataloader(dataset, args.batch_size, seed=0)
metrics = []
if args.metric_samples:
    n = args.metric_samples
    metrics = [FrechetClassifierDistance(sample_size=n), ClassCoverage(sample_size=n)]
# gate_scale acts only where the gate does (the conv decoder); the other decoders ignore it.
generator_args = {"out_size": 32, "out_channels": 1, "step_channels": 32, "decoder": args.decoder,
                  "hidden_size": 128, "num_layers": 1, "gate_scale": 10.0}  # fmt: skip
trainer = RunTrainer(
    {
        "generator": {
            "name": LSTMGenerator,
            "args": generator_args,
            "optimizer": {"name": Adam, "args": {"lr": 4e-4, "betas": (0.5, 0.999)}},
        },
        "discriminator": {
            "name": ConvDiscriminator if args.discriminator == "conv" else DCGANDiscriminator,
            "args": {"in_size": 32, "in_channels": 1, "step_channels": 32},
            "optimizer": {"name": Adam, "args": {"lr": 2e-4, "betas": (0.5, 0.999)}},
        },
    },
    [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()],
    ema_decay=0.99,
    metrics_list=metrics,
    device=device,
    epochs=args.epochs,
    sample_size=64,
    checkpoints=str(args.out / "checkpoints" / "gan"),
    recon=str(args.out / "images"),
    log_dir=str(args.out / "tensorboard"),
)
trainer(loader)
print(f"grids in {args.out / 'images'}, TensorBoard logs in {args.out / 'tensorboard'}")
