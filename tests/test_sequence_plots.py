"""Line plots of sequence generators each epoch: PNG files and TensorBoard, resumable."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torchgan.logging.visualize import ImageVisualize
from torchgan.trainer import Trainer

from torchgan_lstm.losses import build_losses
from torchgan_lstm.trainer.sequence_plots import (
    SequenceTrainer,
    SequenceVisualize,
    plot_sequences,
    use_sequence_plots,
)

from .conftest import model_config, sequence_model_config


def build(paths, epochs=2, **kwargs):
    torch.manual_seed(0)
    return SequenceTrainer(
        sequence_model_config("conv"),
        build_losses("minimax"),
        device=torch.device("cpu"),
        epochs=epochs,
        sample_size=4,
        **paths,
        **kwargs,
    )


def test_plot_sequences_draws_a_panel_per_feature_with_real_and_generated():
    fig = plot_sequences(torch.rand(5, 10, 3), torch.rand(4, 10, 3), num_series=2)
    assert len(fig.axes) == 3
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4  # 2 real, 2 generated
    with pytest.raises(ValueError, match="real has 2 features but generated has 3"):
        plot_sequences(torch.rand(5, 10, 3), torch.rand(4, 10, 2))
    with pytest.raises(ValueError, match=r"generated must have shape \(batch, seq_len, features\)"):
        plot_sequences(torch.rand(5, 10))


def test_sequence_trainer_writes_a_png_and_a_tensorboard_figure_every_epoch(
    trainer_paths, sine_loader, tmp_path
):
    trainer = build(trainer_paths)
    assert isinstance(trainer.logger.logger_end_epoch[0], SequenceVisualize)
    trainer(sine_loader)
    trainer.logger.close()
    pngs = sorted(p.name for p in (tmp_path / "images").iterdir())
    assert pngs == ["epoch1_generator.png", "epoch2_generator.png"]
    assert (tmp_path / "images" / "epoch2_generator.png").read_bytes()[:4] == b"\x89PNG"

    events = EventAccumulator(trainer_paths["log_dir"], size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    images = events.Images("Generated_Samples/generator")
    assert [image.step for image in images] == [1, 2]
    assert images[0].width > 100
    tags = events.Tags()["scalars"]
    assert "Losses/MinimaxGeneratorLoss" in tags and "Running_Generator_Loss" in tags
    assert all(math.isfinite(e.value) for e in events.Scalars("Running_Generator_Loss"))


def test_plots_draw_fixed_noise_and_the_last_real_batch(trainer_paths, sine_loader):
    trainer = build(trainer_paths, epochs=1)
    visualizer = trainer.sequence_visualizer
    (noise,) = visualizer.test_noise["generator"]
    assert noise.shape == (4, 8, 4)
    trainer(sine_loader)
    figure = visualizer._figure("generator")
    real_line = figure.axes[0].get_lines()[0]
    np.testing.assert_allclose(real_line.get_ydata(), trainer.real_inputs[0, :, 0].numpy())


def test_a_resumed_run_continues_the_plot_numbering(trainer_paths, sine_loader, tmp_path):
    build(trainer_paths)(sine_loader)
    first = (tmp_path / "images" / "epoch1_generator.png").read_bytes()
    resumed = build(trainer_paths, epochs=3)
    resumed.load_model(trainer_paths["checkpoints"] + "1.model")
    resumed(sine_loader)
    names = sorted(p.name for p in (tmp_path / "images").iterdir())
    assert names == [f"epoch{i}_generator.png" for i in (1, 2, 3)]
    assert (tmp_path / "images" / "epoch1_generator.png").read_bytes() == first


def test_use_sequence_plots_leaves_image_trainers_to_torchgan(trainer_paths):
    trainer = Trainer(
        model_config(),
        build_losses("minimax"),
        device=torch.device("cpu"),
        sample_size=4,
        **trainer_paths,
    )
    assert use_sequence_plots(trainer) is None
    assert type(trainer.logger.logger_end_epoch[0]) is ImageVisualize


def test_use_sequence_plots_keeps_the_metric_visualizer_in_place(trainer_paths):
    from torchgan_lstm.metrics import CorrelationalScore

    trainer = Trainer(
        sequence_model_config("lstm"),
        build_losses("minimax"),
        metrics_list=[CorrelationalScore(torch.rand(8, 8, 3))],
        device=torch.device("cpu"),
        sample_size=4,
        **trainer_paths,
    )
    image_noise = trainer.logger.logger_end_epoch[0].test_noise
    visualizer = use_sequence_plots(trainer, num_series=2)
    assert trainer.logger.logger_end_epoch[0] is visualizer
    assert type(trainer.logger.get_metric_viz()).__name__ == "MetricVisualize"
    assert visualizer.test_noise["generator"] is image_noise[0]
