#!/usr/bin/env bash
# One NCCL run on one GPU (torchrun --nproc_per_node=1), then 2 processes sharing that GPU.
# Usage: bash scripts/nccl_check.sh OUT_DIR   (writes OUT_DIR/nccl1/summary.json and logs)
set -u
OUT=${1:-/tmp/nccl_check}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD OMP_NUM_THREADS=1
python=${PYTHON:-python3}
$python -c "import torch, torchgan, sys; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.device_count())" 2>&1 | tee "$OUT/env.txt"
$python - "$OUT/blobs" <<'PY'
import sys, pathlib, torch
from PIL import Image
root = pathlib.Path(sys.argv[1]) / "x"; root.mkdir(parents=True, exist_ok=True)
g = torch.Generator().manual_seed(0)
for i in range(256):
    img = torch.zeros(16, 16, dtype=torch.uint8); r, c = torch.randint(0, 8, (2,), generator=g).tolist()
    img[r:r + 8, c:c + 8] = 255; Image.fromarray(img.numpy(), "L").save(root / f"{i:03d}.png")
PY
ARGS="train --backend nccl --device cuda --data.dataset folder --data.root $OUT/blobs --data.image_size 16 --data.channels 1 --generator.hidden_size 32 --generator.step_channels 8 --discriminator.step_channels 8 --generator.encoding_dims 16 --batch_size 32 --max_steps 40 --eval_every 20 --metric_samples 0 --sample_size 16 --progress false"
for n in 1 2; do
  $python -m torch.distributed.run --standalone --nproc_per_node=$n -m torchgan_lstm $ARGS --out "$OUT/nccl$n" > "$OUT/nccl$n.log" 2>&1
  echo "nproc=$n exit $?" | tee -a "$OUT/result.txt"
  grep -E '"(steps|train_seconds|world_size|backend|device|replica_max_abs_diff|replica_buffer_max_abs_diff)"' "$OUT/nccl$n/summary.json" 2>/dev/null | tee -a "$OUT/result.txt"
  grep -iE "error|duplicate" "$OUT/nccl$n.log" | head -5 | tee -a "$OUT/result.txt"
done
