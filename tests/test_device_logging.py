"""DeviceLoggingMixin: no host reads between flushes, and the same training and logs as TorchGAN."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
import torch
from torchgan.trainer import Trainer

from torchgan_lstm.losses import build_losses
from torchgan_lstm.trainer.device_logging import DeviceLoggingMixin, defers_reading
from torchgan_lstm.trainer.guards import TrainingDiverged
from torchgan_lstm.trainer.progress import attach_progress_bar

from .conftest import blob_images, model_config


class DeviceLoggingTrainer(DeviceLoggingMixin, Trainer):
    """How a Trainer subclass takes the add-on."""


def make(trainer_paths, family="minimax", log_every=None, cls=None, epochs=1, **generator_args):
    cls = cls or (Trainer if log_every is None else DeviceLoggingTrainer)
    extra = {} if cls is Trainer else {"log_every": log_every}
    torch.manual_seed(0)
    return cls(
        model_config({"lstm_gate": False, **generator_args}),
        build_losses(family),
        device=torch.device("cpu"),
        epochs=epochs,
        sample_size=8,
        **trainer_paths,
        **extra,
    )


def one_step(trainer) -> None:
    """The body of TorchGAN's ``Trainer.train`` loop for one batch."""
    lgen, ldis, gen_iter, dis_iter = trainer.train_iter()
    info = trainer.loss_information
    info["generator_losses"] += lgen
    info["discriminator_losses"] += ldis
    info["generator_iters"] += gen_iter
    info["discriminator_iters"] += dis_iter
    trainer.logger.run_mid_epoch(trainer)


# Every way Python code can pull a tensor's value to the host.
_HOST_READS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__", "__index__")


@contextlib.contextmanager
def counting_host_reads(monkeypatch, optimizers):
    """Count host reads of tensors, leaving out Adam's step counters (host tensors by design:
    ``capturable=False`` keeps them on the CPU on every device, so reading them waits for
    nothing)."""
    reads: list[str] = []
    counters = {
        id(state["step"]) for opt in optimizers for state in opt.state.values() if "step" in state
    }
    for name in _HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            if id(self) not in counters:
                reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    yield reads
    monkeypatch.undo()


def _optimizers(trainer):
    return [getattr(trainer, name) for name in trainer.optimizer_names]


def _params(trainer):
    return sum(1 for n in trainer.model_names for _ in getattr(trainer, n).parameters())


def test_stock_trainer_reads_each_loss_and_each_parameter_every_step(trainer_paths, monkeypatch):
    trainer = make(trainer_paths)
    trainer.real_inputs = blob_images(8)
    for _ in range(2):  # warm-up: optimizer state exists
        one_step(trainer)
    with counting_host_reads(monkeypatch, _optimizers(trainer)) as reads:
        one_step(trainer)
    assert len(reads) >= len(trainer.losses) + _params(trainer)


@pytest.mark.parametrize(("family", "host_draws"), [("minimax", 0), ("hinge", 0), ("wgan-gp", 1)])
def test_device_logging_reads_nothing_between_flushes(
    trainer_paths, monkeypatch, family, host_draws
):
    trainer = make(trainer_paths, family, log_every=4)
    trainer.real_inputs = blob_images(8)
    for _ in range(4):  # warm-up, ending with a flush
        one_step(trainer)
    assert trainer.pending_steps == 0
    per_step = []
    for _ in range(4):
        with counting_host_reads(monkeypatch, _optimizers(trainer)) as reads:
            one_step(trainer)
        per_step.append(list(reads))
    # WGAN-GP's penalty draws its interpolation weight as torch.rand(1).item(): a host tensor.
    assert per_step[:3] == [["item"] * host_draws] * 3, "no read of the device between flushes"
    assert per_step[3] == ["item"] * host_draws + ["tolist"], "one read per flush"
    assert trainer.steps_logged == 8


@pytest.mark.parametrize("family", ["minimax", "wgan-gp", "historical"])
def test_same_training_and_logs_as_torchgan(trainer_paths, blob_loader, family):
    # 2 epochs of 4 steps: flushes after steps 3 and 6, and at each epoch's end (4 and 8).
    stock = make(trainer_paths, family, epochs=2)
    stock(blob_loader)
    ours = make(trainer_paths, family, log_every=3, epochs=2)
    ours(blob_loader)
    assert ours.logger.get_loss_viz().logs == stock.logger.get_loss_viz().logs
    assert ours.loss_information == stock.loss_information
    for name in ("generator", "discriminator"):
        for a, b in zip(
            getattr(ours, name).state_dict().values(),
            getattr(stock, name).state_dict().values(),
            strict=True,
        ):
            assert torch.equal(a, b)
        ours_grads = ours.logger.get_grad_viz().logs[name]
        assert ours_grads == pytest.approx(stock.logger.get_grad_viz().logs[name], rel=1e-5)
    for mine, theirs in zip(
        ours.logger.logger_mid_epoch, stock.logger.logger_mid_epoch, strict=True
    ):
        assert mine.step == theirs.step, "TensorBoard steps as TorchGAN counts them"
    assert ours.steps_logged == 8 and ours.pending_steps == 0


def test_losses_that_need_host_values_keep_torchgans_read():
    losses = {type(loss).__name__: loss for loss in build_losses("historical")}
    assert defers_reading(losses["MinimaxGeneratorLoss"])
    assert not defers_reading(losses["HistoricalAverageGeneratorLoss"])
    own = build_losses("minimax")[0]
    own.override_train_ops = lambda *args: 0.0
    assert not defers_reading(own)
    (hinge, _) = build_losses("hinge")
    assert defers_reading(hinge)


class _NanAfter:
    """A forward hook that makes the discriminator's output nan from its ``n``-th call on."""

    def __init__(self, n: int):
        self.calls, self.n = 0, n

    def __call__(self, module, inputs, output):
        self.calls += 1
        return output * float("nan") if self.calls >= self.n else output


def test_nan_stops_the_run_at_the_flush_before_its_checkpoint(trainer_paths, blob_loader):
    trainer = make(trainer_paths, log_every=100)  # read only at the epoch's end
    trainer.discriminator.register_forward_hook(_NanAfter(5))  # 3 calls a step: step 2
    with pytest.raises(TrainingDiverged, match=r"MinimaxDiscriminatorLoss is nan at step 2 "):
        trainer(blob_loader)
    assert not list(Path(trainer_paths["checkpoints"]).parent.glob("*.model"))
    assert len(trainer.logger.get_loss_viz().logs["MinimaxGeneratorLoss"]) == 1


def test_progress_bar_sees_every_step_at_the_flushes(trainer_paths, blob_loader, monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    trainer = make(trainer_paths, log_every=3, epochs=2)
    bar = attach_progress_bar(trainer, total=8, enabled=True)
    seen = []
    update = bar.bar.update
    bar.bar.update = lambda n=1: (seen.append(trainer.steps_logged), update(n))
    trainer(blob_loader)
    assert bar.bar.n == 8 and seen == list(range(1, 9))
    mean_d = trainer.loss_information["discriminator_losses"] / 8
    assert 0 < bar.losses["D"] < 10 * mean_d
    bar.close()


def test_log_every_none_is_torchgans_own_step(trainer_paths, monkeypatch):
    trainer = make(trainer_paths, cls=DeviceLoggingTrainer, log_every=None)
    trainer.real_inputs = blob_images(8)
    for _ in range(2):
        one_step(trainer)
    with counting_host_reads(monkeypatch, _optimizers(trainer)) as reads:
        one_step(trainer)
    assert len(reads) >= len(trainer.losses) + _params(trainer)
    assert trainer.pending_steps == 0


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_log_every_must_be_a_positive_integer(trainer_paths, bad):
    with pytest.raises(ValueError, match="log_every must be"):
        make(trainer_paths, log_every=bad)


def test_resumed_run_counts_steps_on(trainer_paths, blob_loader):
    first = make(trainer_paths, log_every=3)
    first(blob_loader)
    resumed = make(trainer_paths, log_every=3, epochs=2)
    resumed.load_model(trainer_paths["checkpoints"] + "0.model")
    assert resumed.steps_logged == 4
    resumed(blob_loader)
    assert resumed.steps_logged == 8
