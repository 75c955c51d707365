"""Train a class-conditional LSTM generator on Fashion-MNIST with TorchGAN's Trainer.

The critic is conditioned by projection (``--critic projection``, Miyato & Koyama 2018) or is
an ACGAN critic with an auxiliary classifier (``--critic acgan``). Every epoch's grid, and the
final ``classes.png``, shows one class per row (row k: class k, ``--per-class`` samples). At the
end the package's Fashion-MNIST classifier judges ``--judge`` samples per asked class: the share
it puts on the asked class, per class and on average (chance: 0.1), goes to ``scores.json``.

python examples/train_conditional_fashion_mnist.py --out runs/conditional --epochs 5
python examples/train_conditional_fashion_mnist.py --out runs/quick --epochs 1 --limit 6000
"""

import argparse
import json
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
from torchgan_lstm.metrics.classifier import load_classifier, to_classifier_input
from torchgan_lstm.models.conv import NORMS

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("runs/conditional"))
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--decoder", choices=("conv", "rows", "canvas"), default="conv")
parser.add_argument("--critic", choices=("projection", "acgan"), default="projection")
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--limit", type=int, help="train on the first LIMIT images only")
parser.add_argument("--per-class", type=int, default=10, help="samples per row of the grids")
parser.add_argument("--data-root", help="folder with the Fashion-MNIST files (default: search)")
parser.add_argument("--seed", type=int, default=0, help="seeds the models and the data order")
parser.add_argument("--critic-norm", choices=NORMS, default="batch")
parser.add_argument("--critic-dropout", type=float, default=0.0, help="in [0, 1)")
parser.add_argument("--judge", type=int, default=100, help="samples per class to classify")
args = parser.parse_args()
if not 0 <= args.critic_dropout < 1:
    parser.error(f"--critic-dropout must be in [0, 1), got {args.critic_dropout}")
if args.judge < 1:
    parser.error(f"--judge must be at least 1, got {args.judge}")

NUM_CLASSES = 10
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
dataset = build_dataset("fashion-mnist", args.data_root)
classes = list(getattr(dataset, "classes", range(NUM_CLASSES)))
if args.limit:
    dataset = torch.utils.data.Subset(dataset, range(min(args.limit, len(dataset))))
loader = make_dataloader(dataset, args.batch_size, seed=args.seed)

critic_args = {
    "in_size": 32,
    "in_channels": 1,
    "step_channels": 32,
    "num_classes": NUM_CLASSES,
    "norm": args.critic_norm,
    "dropout": args.critic_dropout,
}
losses = [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()]
if args.critic == "projection":
    critic_args["label_type"] = "required"
else:
    losses += [AuxiliaryClassifierGeneratorLoss(), AuxiliaryClassifierDiscriminatorLoss()]

# Fixed inputs for the grids: row k asks for class k, the same noise in every row.
torch.manual_seed(0)
noise = torch.randn(args.per_class, 100).repeat(NUM_CLASSES, 1).to(device)
rows = torch.arange(NUM_CLASSES).repeat_interleave(args.per_class).to(device)
torch.manual_seed(args.seed)

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

# Does the generator draw the class it is asked for? The classifier's verdict per asked class.
asked = torch.arange(NUM_CLASSES).repeat_interleave(args.judge).to(device)
classifier = load_classifier(device)
with torch.no_grad():
    samples = generator(torch.randn(len(asked), generator.encoding_dims, device=device), asked)
    predicted = classifier(to_classifier_input(samples)).argmax(1)
shares = [(predicted[asked == k] == k).float().mean().item() for k in range(NUM_CLASSES)]
per_class = dict(zip(classes, shares, strict=True))
mean_share = sum(shares) / NUM_CLASSES
(args.out / "scores.json").write_text(
    json.dumps({"asked_class_share": mean_share, "per_class": per_class}, indent=2) + "\n"
)
print(f"share of samples the classifier puts on the asked class: {mean_share:.3f}")
print("  " + ", ".join(f"{name} {share:.2f}" for name, share in per_class.items()))
