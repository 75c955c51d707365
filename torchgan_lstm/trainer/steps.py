"""TorchGAN counts in epochs, a run in steps: a loader that presents steps as TorchGAN epochs.

:class:`StepLoader` wraps the real ``DataLoader``; its "epochs" are ``steps_per_epoch`` steps long,
so TorchGAN writes a checkpoint, a sample grid and the metrics every ``steps_per_epoch`` steps.
It also keeps the time budget and the place in the data that an exact resume needs.
"""

from __future__ import annotations

import math
import time

from .._validation import InputError
from .guards import DataLoaderFailed
from .strategy import SingleProcess

__all__ = ["BudgetSpent", "StepLoader"]


class BudgetSpent(Exception):
    """Raised by :class:`StepLoader` to end TorchGAN's epoch loop once ``max_seconds`` is spent."""


class StepLoader:
    """Presents a ``DataLoader`` to TorchGAN's ``Trainer`` as epochs of ``steps_per_epoch`` steps.

    The underlying loader is cycled (a new shuffle each pass), and the run stops after
    ``total_steps``: the last epoch may be shorter. With ``max_seconds``, the epoch in which the
    time spent in training steps passes the budget ends early (so TorchGAN still checkpoints
    and evaluates it), and the next epoch raises :class:`BudgetSpent`.

    Args:
        loader: the real ``DataLoader``.
        steps_per_epoch: steps between TorchGAN's end-of-epoch work (checkpoint, samples, metrics).
        total_steps: steps in the whole run.
        done: steps already trained (when resuming).
        max_seconds: training-time budget, or ``None``; under torchrun the ranks stop together.
        strategy: how the processes of a job agree and save their random state.
    """

    def __init__(
        self,
        loader,
        steps_per_epoch: int,
        total_steps: int,
        done: int = 0,
        max_seconds: float | None = None,
        strategy: SingleProcess | None = None,
    ):
        self.loader = loader
        self.strategy = strategy if strategy is not None else SingleProcess()
        self.batch_size = loader.batch_size  # read by Trainer.__call__
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = total_steps
        self.done = done
        self.max_seconds = max_seconds
        self.seconds = 0.0  # spent in training steps (between this loader's yields)
        self._spent = False
        self._batches = None
        self._pass_start = None  # the loader's shuffling generator state when this pass began
        self._pass_index = None  # or the pass number, for a loader that shuffles by pass
        self._position = 0  # batches drawn in this pass
        # Where the run stands after the last epoch: RNG states and the place in the data.
        # Updated in place, so a Trainer attribute bound to it is saved with each checkpoint.
        self.state: dict = {}

    @property
    def epochs(self) -> int:
        """Number of TorchGAN epochs the run needs in all."""
        return math.ceil(self.total_steps / self.steps_per_epoch)

    @property
    def out_of_time(self) -> bool:
        """Whether the ``max_seconds`` budget is spent (on any rank of a job)."""
        return self._spent

    def _check_budget(self) -> bool:
        if self.max_seconds is not None and not self._spent:
            self._spent = self.strategy.agree([self.seconds >= self.max_seconds])[0]
        return self._spent

    def __len__(self) -> int:
        return max(min(self.steps_per_epoch, self.total_steps - self.done), 0)

    def _new_pass(self) -> None:
        generator = getattr(self.loader, "generator", None)
        self._pass_start = None if generator is None else generator.get_state()
        self._pass_index = getattr(self.loader, "passes", None)
        self._batches = iter(self.loader)
        self._position = 0

    def _next_batch(self):
        if self._batches is None:
            self._new_pass()
        try:
            try:
                return next(self._batches)
            except StopIteration:
                self._new_pass()
                return next(self._batches)
        except StopIteration:
            raise DataLoaderFailed(
                f"the data loader yielded no batch at step {self.done + 1}"
            ) from None
        except Exception as err:
            raise DataLoaderFailed(
                f"the data loader raised at step {self.done + 1} (checkpoints already written "
                f"are kept): {type(err).__name__}: {err}"
            ) from err

    def __iter__(self):
        if self.out_of_time:
            raise BudgetSpent(f"max_seconds={self.max_seconds} spent after {self.done} steps")
        for _ in range(len(self)):
            batch = self._next_batch()
            self._position += 1
            self.done += 1
            started = time.perf_counter()
            yield batch  # the Trainer runs the step here
            self.seconds += time.perf_counter() - started
            if self._check_budget():  # end this epoch: TorchGAN checkpoints and evaluates it
                break
        # TorchGAN saves its checkpoint right after this epoch's last step: record the state
        # a resumed run needs to continue exactly as this one will.
        self.state.clear()
        self.state.update(
            self.strategy.capture_state(),
            data_pass_start=self._pass_start,
            data_pass_index=self._pass_index,
            data_position=self._position,
        )

    def restore(self, state: dict) -> None:
        """Continue from a :attr:`state` saved in a checkpoint: the same place in the same pass
        over the data (when the loader shuffles with its own generator) and the same RNG states.

        Raises:
            InputError: ``state`` lacks an entry, or (under torchrun) comes from a job with
                another number of ranks.
        """
        missing = [k for k in ("rng", "data_pass_start", "data_position") if k not in state]
        if missing:
            raise InputError(f"state lacks {missing}, got keys {sorted(state)}")
        generator = getattr(self.loader, "generator", None)
        pass_index = state.get("data_pass_index")
        placed = True
        if state["data_pass_start"] is not None and generator is not None:
            generator.set_state(state["data_pass_start"])
        elif pass_index is not None and hasattr(self.loader, "passes"):
            self.loader.passes = pass_index
        else:
            placed = False
        if placed:
            self._new_pass()
            for _ in range(state["data_position"]):
                next(self._batches)
            self._position = state["data_position"]
        self.strategy.restore_state(state)
