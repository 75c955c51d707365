#!/bin/bash
# Worked examples on the two public tables (1 thread each).
export OMP_NUM_THREADS=1
T=/work/main/.venv/bin/torchgan-lstm
D=/work/main/examples/data
( /usr/bin/time -f "jv %e s wall %U s user" nice -n 19 $T train --data.dataset table:$D/japanese_vowels.csv --data.id utterance --data.time frame --data.categorical '[speaker]' --data.seq_len 29 --max_steps 2000 --eval_every 1000 --metric_samples 0 --progress false --out jv > jv.train.log 2>&1
  nice -n 19 $T evaluate jv --runs 3 --figure jv-figure.png --json jv-eval.json --device cpu > jv.eval.log 2>&1
  nice -n 19 $T sample jv --n 270 --out jv-sample.csv > jv.sample.log 2>&1 ) &
( /usr/bin/time -f "co2 %e s wall %U s user" nice -n 19 $T train --data.dataset table:$D/co2_weekly.csv --data.seq_len 52 --data.stride 4 --max_steps 2000 --eval_every 1000 --metric_samples 0 --progress false --out co2 > co2.train.log 2>&1
  nice -n 19 $T evaluate co2 --runs 3 --figure co2-figure.png --json co2-eval.json --device cpu > co2.eval.log 2>&1
  nice -n 19 $T sample co2 --n 100 --out co2-sample.csv > co2.sample.log 2>&1 ) &
wait
