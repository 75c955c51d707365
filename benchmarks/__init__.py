"""Benchmarks: speed and sample quality of the LSTM generators beside TorchGAN's DCGAN."""
