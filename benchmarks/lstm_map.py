"""How much of a trained conv-decoder LSTM generator's image comes from its recurrence.

``python -m benchmarks.lstm_map RUN [RUN ...]`` loads each run's generator (a run folder or a
checkpoint written by ``torchgan-lstm train`` or the quality suite) and scores the same noise
three ways: as trained; with the LSTM's map zeroed (the latent skip path alone); and with every
sample given the next sample's LSTM map (within each chunk of ``batch`` samples). A recurrence that
refines the content it is added to loses quality when its map is moved to another sample; one
that only adds untied variation does not. Scores: the Frechet classifier distance (lower is
better) and the rarest class's share of the samples, by the package's Fashion-MNIST classifier.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from torchgan_lstm.app.run import load_generator
from torchgan_lstm.metrics import FrechetClassifierDistance
from torchgan_lstm.metrics.classifier import NUM_CLASSES, load_classifier, to_classifier_input
from torchgan_lstm.models import LSTMGenerator

__all__ = ["MODES", "lstm_map_scores", "main"]

MODES = ("trained", "zeroed", "shuffled")


def _sample(generator: LSTMGenerator, z: torch.Tensor, mode: str, batch: int) -> torch.Tensor:
    """Images for noise ``z`` with the LSTM's map as ``mode`` says, ``batch`` at a time."""
    decoder = generator.decoder

    def hook(module, inputs, output):
        if mode == "zeroed":
            return torch.zeros_like(output)
        # A derangement within the chunk: each sample gets the next one's map.
        return output.roll(1, dims=0)

    handle = None if mode == "trained" else decoder.to_cell.register_forward_hook(hook)
    try:
        with torch.no_grad():
            return torch.cat([generator(chunk) for chunk in z.split(batch)])
    finally:
        if handle is not None:
            handle.remove()


def lstm_map_scores(
    generator: LSTMGenerator,
    samples: int = 5000,
    seed: int = 0,
    batch: int = 500,
    real_images: torch.Tensor | None = None,
) -> dict[str, dict[str, float]]:
    """Per mode, the Frechet classifier distance and the rarest class's share.

    ``real_images`` (in ``[-1, 1]``) are the distance's reference; ``None`` takes the
    Fashion-MNIST test split.

    Raises:
        ValueError: the generator is not an unconditional conv-decoder ``LSTMGenerator``.
    """
    if not isinstance(generator, LSTMGenerator) or generator.decoder_name != "conv":
        raise ValueError(f"needs an LSTMGenerator with decoder='conv', got {generator!r:.80}")
    if generator.num_classes is not None:
        raise ValueError("needs an unconditional generator (label_type='none')")
    z = torch.randn(samples, generator.encoding_dims, generator=torch.Generator().manual_seed(seed))
    metric = FrechetClassifierDistance(samples, batch, "cpu", real_images=real_images)
    classifier = load_classifier("cpu")
    scores = {}
    for mode in MODES:
        images = _sample(generator.eval(), z, mode, batch)
        with torch.no_grad():
            predicted = torch.cat(
                [classifier(to_classifier_input(c)).argmax(1) for c in images.split(batch)]
            )
        shares = torch.bincount(predicted, minlength=NUM_CLASSES).double() / samples
        scores[mode] = {
            "fcd": metric.score_images(images),
            "rarest_class": float(shares.min()),
        }
    return scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lstm_map", description=__doc__)
    parser.add_argument("runs", nargs="+", help="run folders or checkpoints")
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    parser.add_argument("--out", type=Path, help="also write the scores here as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = {}
    print("| run | gate | " + " | ".join(f"FCD {m} | rarest {m}" for m in MODES) + " |")
    print("|---|---|" + "---|---|" * len(MODES))
    for run in args.runs:
        generator, _ = load_generator(run)
        scores = lstm_map_scores(generator, args.samples, args.seed)
        gate = generator.decoder.gate
        effective = None if gate is None else generator.decoder.gate_scale * gate.item()
        results[run] = {"gate": effective, **scores}
        cells = " | ".join(
            f"{scores[m]['fcd']:.1f} | {100 * scores[m]['rarest_class']:.1f} %" for m in MODES
        )
        shown = "none" if effective is None else f"{effective:.2f}"
        print(f"| {run} | {shown} | {cells} |", flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
