"""Train a recurrent GAN on TimeGAN's Stocks data with TorchGAN's Trainer; plot real vs generated.

python examples/train_stocks.py --out runs/stocks-example --epochs 5

What it trains, and why: the plainest recurrent GAN, to show TorchGAN's Trainer on sequences
(the command line's sequence recipe is another pair, a whitened convolutional critic and a
moving average: `torchgan-lstm train --data.dataset stocks`). An LSTM generator with noise at
every step (RGAN) against an LSTM discriminator, minimax loss,
on stride-1 windows of 24 trading days of GOOG's six daily series scaled to [0, 1]. Writes
TorchGAN's checkpoints and TensorBoard logs, a line plot per epoch (images/), and at the end
real_vs_generated.png and generated.npy (1,000 sequences in dollars and shares).
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from torch.optim import Adam
from torchgan.losses import MinimaxDiscriminatorLoss, MinimaxGeneratorLoss
from torchgan.trainer import Trainer

from torchgan_lstm import LSTMSequenceDiscriminator, LSTMSequenceGenerator
from torchgan_lstm.data import build_sequence_dataset, make_dataloader
from torchgan_lstm.metrics import DiscriminativeScore, PredictiveScore
from torchgan_lstm.trainer.sequence_plots import plot_sequences, use_sequence_plots

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=Path, default=Path("runs/stocks-example"))
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--hidden-size", type=int, default=64)
parser.add_argument("--limit", type=int, help="train on the first LIMIT windows only")
parser.add_argument("--metrics", action=argparse.BooleanOptionalAction, default=True)
args = parser.parse_args()

torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
stocks = build_sequence_dataset("stocks")  # 3,661 windows of 24 x 6, scaled to [0, 1]
train_set = stocks
if args.limit:
    train_set = torch.utils.data.Subset(stocks, range(min(args.limit, len(stocks))))
loader = make_dataloader(train_set, args.batch_size, seed=0)
adam = {"name": Adam, "args": {"lr": 1e-3, "betas": (0.5, 0.999)}}
trainer = Trainer(
    {
        "generator": {
            "name": LSTMSequenceGenerator,
            "args": {"seq_len": 24, "features": 6, "hidden_size": args.hidden_size},
            "optimizer": adam,
        },
        "discriminator": {
            "name": LSTMSequenceDiscriminator,
            "args": {"features": 6, "hidden_size": args.hidden_size},
            "optimizer": adam,
        },
    },
    [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()],
    metrics_list=[
        DiscriminativeScore(stocks.sequences, iterations=500),
        PredictiveScore(stocks.sequences, iterations=1000),
    ]
    if args.metrics
    else [],
    device=device,
    epochs=args.epochs,
    sample_size=6,
    checkpoints=str(args.out / "checkpoints" / "gan"),
    recon=str(args.out / "images"),
    log_dir=str(args.out / "tensorboard"),
)
use_sequence_plots(trainer)  # line plots instead of TorchGAN's image grid
trainer(loader)

generator = trainer.generator.eval()
with torch.no_grad():
    fake = generator(*generator.sampler(1000, device)).cpu()
plot_sequences(fake, stocks.sequences, title="Stocks: generated (colour) vs real (grey)").savefig(
    args.out / "real_vs_generated.png"
)
np.save(args.out / "generated.npy", stocks.scaler.inverse_transform(fake))
print(f"wrote {args.out / 'real_vs_generated.png'} and {args.out / 'generated.npy'}")
