"""Train a class-conditional LSTM generator on Fashion-MNIST with TorchGAN's Trainer.

The critic is conditioned by projection (``--critic projection``, Miyato & Koyama 2018) or is
an ACGAN critic with an auxiliary classifier (``--critic acgan``). Every epoch's grid, and the
final ``classes.png``, shows one class per row (row k: class k, ``--per-class`` samples).

python examples/train_conditional_fashion_mnist.py --out runs/conditional --epochs 5
python examples/train_conditional_fashion_mnist.py --out runs/quick --epochs 1 --limit 6000
"""

import argparse
from pathlib import Path

import torch
from torch.optim import Adam
from torchgan.losses import (
    AuxiliaryClassifierDiscriminatorLoss,
    AuxiliaryClassifierGeneratorLoss,
    MinimaxDiscriminatorLoss,
    MinimaxGeneratorLoss,
)
from torchgan.trainer import Trainer
from torchvision.utils import save_image

from torchgan_lstm import ConvDiscriminator, LSTMGenerator  # also applies the compat fixes
from torchgan_lstm.data import build_dataset, make_dataloader

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("runs/conditional"))
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--decoder", choices=("conv", "rows", "canvas"), default="conv")
parser.add_argument("--critic", choices=("projection", "acgan"), default="projection")
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--limit", type=int, help="train on the first LIMIT images only")
parser.add_argument("--per-class", type=int, default=10, help="samples per row of the grids")
parser.add_argument("--data-root", help="folder with the Fashion-MNIST files (default: search)")
args = parser.parse_args()

NUM_CLASSES = 10
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
dataset = build_dataset("fashion-mnist", args.data_root)
classes = list(getattr(dataset, "classes", range(NUM_CLASSES)))
if args.limit:
    dataset = torch.utils.data.Subset(dataset, range(min(args.limit, len(dataset))))
loader = make_dataloader(dataset, args.batch_size, seed=0)

critic_args = {"in_size": 32, "in_channels": 1, "step_channels": 32, "num_classes": NUM_CLASSES}
losses = [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()]
if args.critic == "projection":
    critic_args["label_type"] = "required"
else:
    losses += [AuxiliaryClassifierGeneratorLoss(), AuxiliaryClassifierDiscriminatorLoss()]

# Fixed inputs for the grids: row k asks for class k, the same noise in every row.
torch.manual_seed(0)
noise = torch.randn(args.per_class, 100).repeat(NUM_CLASSES, 1).to(device)
rows = torch.arange(NUM_CLASSES).repeat_interleave(args.per_class).to(device)

adam = {"name": Adam, "args": {"lr": 2e-4, "betas": (0.5, 0.999)}}
trainer = Trainer(
    {
        "generator": {
            "name": LSTMGenerator,
            "args": {
                "encoding_dims": 100,
                "out_size": 32,
                "out_channels": 1,
                "step_channels": 32,
                "decoder": args.decoder,
                "label_type": "generated",
                "num_classes": NUM_CLASSES,
            },
            "optimizer": adam,
        },
        "discriminator": {"name": ConvDiscriminator, "args": critic_args, "optimizer": adam},
    },
    losses,
    device=device,
    epochs=args.epochs,
    test_noise=[noise, rows],
    nrow=args.per_class,
    checkpoints=str(args.out / "checkpoints" / "gan"),
    recon=str(args.out / "images"),
    log_dir=str(args.out / "tensorboard"),
)
trainer(loader)

generator = trainer.generator.eval()
with torch.no_grad():
    images = generator(noise, rows)
save_image(
    images, args.out / "classes.png", nrow=args.per_class, normalize=True, value_range=(-1, 1)
)
print(f"one class per row in {args.out / 'classes.png'}, top to bottom: {classes}")
