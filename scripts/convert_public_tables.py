"""Convert two public tables, once, into the long CSV files under ``examples/data/``.

- Japanese Vowels (UCI, CC BY 4.0), from sktime's wheel (``pip download --no-deps sktime``):
  ``sktime/datasets/data/JapaneseVowels/JapaneseVowels_{TRAIN,TEST}.ts``;
- Mauna Loa weekly CO2 (public domain), from statsmodels' wheel
  (``pip download --no-deps statsmodels``): ``statsmodels/datasets/co2/co2.csv``.

Usage: ``python scripts/convert_public_tables.py SKTIME_WHEEL STATSMODELS_WHEEL OUT_DIR``.
Only the standard library and pandas are used; nothing is imported from the wheels.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import pandas as pd

VOWELS = "sktime/datasets/data/JapaneseVowels/JapaneseVowels_{}.ts"
CO2 = "statsmodels/datasets/co2/co2.csv"


def vowels(wheel: Path, splits: list[str]) -> pd.DataFrame:
    """One row per utterance and frame: utterance, frame, speaker, split, lpc_1 .. lpc_12."""
    rows = []
    with zipfile.ZipFile(wheel) as archive:
        for split in (s.upper() for s in splits):
            text = archive.read(VOWELS.format(split)).decode("utf-8")
            body = text.split("@data", 1)[1].strip().splitlines()
            for line in body:
                *channels, speaker = line.strip().split(":")
                values = [[float(v) for v in channel.split(",")] for channel in channels]
                utterance = rows[-1]["utterance"] + 1 if rows else 1
                for frame in range(len(values[0])):
                    row = {"utterance": utterance, "frame": frame + 1, "speaker": int(speaker)}
                    row["split"] = split.lower()
                    row |= {f"lpc_{k + 1}": values[k][frame] for k in range(len(values))}
                    rows.append(row)
    return pd.DataFrame(rows)


def co2(wheel: Path) -> pd.DataFrame:
    """Weekly CO2 (ppmv) with ISO dates; weeks without a measurement keep an empty cell."""
    with zipfile.ZipFile(wheel) as archive:
        frame = pd.read_csv(io.BytesIO(archive.read(CO2)))
    frame["date"] = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
    return frame[["date", "co2"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sktime_wheel", type=Path)
    parser.add_argument("statsmodels_wheel", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument(
        "--splits",
        nargs="+",
        default=["train"],
        choices=["train", "test"],
        help="Japanese Vowels splits to keep (default: train, 270 utterances, about 0.5 MB; "
        "both: about 1.3 MB)",
    )
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    table = vowels(args.sktime_wheel, args.splits)
    if len(args.splits) == 1:
        table = table.drop(columns="split")
    table.to_csv(args.out_dir / "japanese_vowels.csv", index=False)
    co2(args.statsmodels_wheel).to_csv(args.out_dir / "co2_weekly.csv", index=False)


if __name__ == "__main__":
    main()
