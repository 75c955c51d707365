"""Train the Fashion-MNIST classifier that the metrics in ``torchgan_lstm.metrics`` rely on.

Writes the state_dict (``fashion_classifier.pt``, loaded by ``load_classifier``) and a JSON
sidecar beside it (``fashion_classifier.json``: test accuracy, epochs, seed, torch version,
parameter count, training time). Reproducible for a given seed, torch version and machine:
seeded initialisation, one seeded generator for data order and augmentation, deterministic
algorithms. About 6 minutes on two CPU cores for the default 10 epochs.

    python scripts/train_classifier.py --epochs 10 --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from torchgan_lstm.data import load_fashion_mnist, to_model_range
from torchgan_lstm.metrics.classifier import (
    IMAGE_SIZE,
    WEIGHTS_PATH,
    FashionClassifier,
)

MAX_SHIFT = 2  # pixels; the 2 px black border keeps shifted garments inside the frame


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="passes over the train split")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights, order, augmentation")
    parser.add_argument(
        "--out", type=Path, default=WEIGHTS_PATH, help="state_dict file (.pt) to write"
    )
    parser.add_argument(
        "--data-root", default=None, help="folder holding the Fashion-MNIST IDX files"
    )
    parser.add_argument("--batch-size", type=int, default=128, help="images per step")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch; 1 is fastest when other jobs share the cores",
    )
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.lr <= 0:
        parser.error(f"--lr must be > 0, got {args.lr}")
    if args.out.suffix != ".pt":
        parser.error(f"--out must name a .pt file, got {args.out}")
    return args


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and shifts of up to ``MAX_SHIFT`` px, filling with black (-1).

    Args:
        images: ``(B, 1, 32, 32)`` in ``[-1, 1]``.
        generator: the seeded source of randomness.

    Returns:
        Augmented images of the same shape.
    """
    batch = images.shape[0]
    flip = torch.rand(batch, generator=generator) < 0.5
    images = torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)
    padded = F.pad(images, (MAX_SHIFT,) * 4, value=-1.0)
    dy, dx = torch.randint(0, 2 * MAX_SHIFT + 1, (2, batch, 1), generator=generator)
    offsets = torch.arange(IMAGE_SIZE)
    rows, cols = (dy + offsets).unsqueeze(2), (dx + offsets).unsqueeze(1)
    crops = padded[torch.arange(batch).view(-1, 1, 1), 0, rows, cols]
    return crops.unsqueeze(1)


def accuracy(model: FashionClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of ``images`` whose predicted class equals ``labels``."""
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(chunk).argmax(1) for chunk in images.split(1000)])
    return (predicted == labels).float().mean().item()


def load_split(split: str, root: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_fashion_mnist(root, split)
    return to_model_range(images, IMAGE_SIZE, 1), labels


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    train_images, train_labels = load_split("train", args.data_root)
    test_images, test_labels = load_split("test", args.data_root)
    model = FashionClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps_per_epoch = -(-len(train_images) // args.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch
    )

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(train_images), generator=generator)
        total_loss = 0.0
        for batch in order.split(args.batch_size):
            inputs = augment(train_images[batch], generator)
            loss = F.cross_entropy(model(inputs), train_labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item() * len(batch)
        test_accuracy = accuracy(model, test_images, test_labels)
        print(
            f"epoch {epoch}/{args.epochs}: train loss {total_loss / len(train_images):.4f}, "
            f"test accuracy {test_accuracy:.4f}, {time.perf_counter() - start:.0f} s",
            flush=True,
        )
    seconds = time.perf_counter() - start

    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out)
    sidecar = {
        "test_accuracy": round(test_accuracy, 4),
        "epochs": args.epochs,
        "seed": args.seed,
        "torch_version": torch.__version__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "threads": args.threads,
        "train_seconds": round(seconds, 1),
    }
    sidecar_path = args.out.with_name(args.out.stem + ".json")
    sidecar_path.write_text(json.dumps(sidecar, indent=2) + "\n")
    print(
        f"test accuracy {test_accuracy:.4f} after {seconds:.0f} s; wrote {args.out}, {sidecar_path}"
    )


if __name__ == "__main__":
    main()
