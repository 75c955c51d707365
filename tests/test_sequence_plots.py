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

from .conftest import model_config, sequence_model_config, sine_batch


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


def test_plot_sequences_names_each_panel_after_its_column_and_the_axis_after_the_units():
    fig = plot_sequences(
        torch.rand(5, 10, 2), feature_names=["Open", "Volume"], value_label="data units"
    )
    assert [ax.get_title() for ax in fig.axes] == ["Open", "Volume"]
    assert fig.axes[0].get_ylabel() == "data units"
    with pytest.raises(ValueError, match="feature_names must name the 2 features, got 1 names"):
        plot_sequences(torch.rand(5, 10, 2), feature_names=["Open"])


def test_plot_options_draw_pca_with_every_epoch_in_the_datas_names_and_units(
    trainer_paths, sine_loader, tmp_path
):
    reference = sine_batch(40)
    options = {
        "feature_names": ["a", "b", "c"],
        "to_data_units": lambda values: values * 100 + 5,
        "value_label": "kelvin",
        "reference": reference,
    }
    trainer = build(trainer_paths, plot_options=options)
    trainer(sine_loader)
    trainer.logger.close()
    pngs = sorted(p.name for p in (tmp_path / "images").iterdir())
    assert pngs == [
        "epoch1_generator.png", "epoch1_generator_pca.png",
        "epoch2_generator.png", "epoch2_generator_pca.png",
    ]  # fmt: skip
    visualizer = trainer.sequence_visualizer
    lines = visualizer._figure("generator")
    assert [ax.get_title() for ax in lines.axes] == ["a", "b", "c"]
    assert lines.axes[0].get_ylabel() == "kelvin"
    np.testing.assert_allclose(
        lines.axes[0].get_lines()[0].get_ydata(), trainer.real_inputs[0, :, 0].numpy() * 100 + 5
    )
    pca = visualizer._pca_figure("generator")
    real_points, fake_points = (c.get_offsets() for c in pca.axes[0].collections)
    assert len(real_points) == len(fake_points) == 40
    assert pca.axes[0].get_title() == "PCA" and len(pca.axes) == 1  # no t-SNE each epoch
    events = EventAccumulator(trainer_paths["log_dir"], size_guidance={"images": 0})
    events.Reload()
    assert [i.step for i in events.Images("Real_and_Generated_PCA/generator")] == [1, 2]
    assert [i.step for i in events.Images("Generated_Samples/generator")] == [1, 2]


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


def test_a_runs_plots_use_the_datas_names_units_and_windows_from_all_of_it():
    from torchgan_lstm.app.sequences import plot_options, spread_sequences
    from torchgan_lstm.data import stocks

    dataset = stocks()
    options = plot_options(dataset, reference=100)
    assert options["feature_names"] == ["Open", "High", "Low", "Close", "Adj_Close", "Volume"]
    assert options["value_label"] == "data units"
    first = dataset.sequences[:1]
    np.testing.assert_allclose(
        options["to_data_units"](first), dataset.scaler.inverse_transform(first)
    )
    reference = options["reference"]
    assert reference.shape == (100, 24, 6)
    torch.testing.assert_close(reference[0], dataset.sequences[0])
    torch.testing.assert_close(reference[-1], dataset.sequences[-1])  # the whole span
    assert len(spread_sequences(dataset, 10**6)) == len(dataset.sequences)


def test_a_table_runs_plots_name_the_packed_channels_and_keep_them_scaled():
    from torchgan_lstm.app.sequences import plot_options
    from torchgan_lstm.data import TableRoles, table_dataset, table_sines

    table = table_sines(entities=12, max_length=10, seed=0)
    dataset = table_dataset(table, TableRoles(id="entity"), seq_len=10)
    options = plot_options(dataset, reference=5)
    assert options["feature_names"] == dataset.feature_names
    assert {"kind=slow", "value", "value observed", "present"} <= set(options["feature_names"])
    assert options["to_data_units"] is None and options["value_label"] == "packed, scaled"
    assert options["reference"].shape == (5, 10, len(dataset.feature_names))
