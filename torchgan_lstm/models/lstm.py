"""LSTM generators for TorchGAN: three ways for a recurrence to draw an image.

- ``decoder="conv"``: one LSTM step per cell of a small base grid; the steps' outputs form a
  feature map that transposed convolutions upsample to the image (the proposal's design). Each
  step reads its own linear projection of the noise (``lstm_input="noise"``) or the cells of
  the latent skip map that the LSTM's output is added to (``lstm_input="skip"``), so that the
  recurrence refines that map cell by cell.
- ``decoder="rows"``: scanline synthesis; one LSTM step per row (or band of rows), each step's
  output projected to that band's pixels.
- ``decoder="canvas"``: recurrent drawing after GRAN and DRAW; ``steps`` LSTM steps, each hidden
  state decoded by one shared transposed-conv decoder into an update of a full-size canvas.

Every recurrence is one call of PyTorch's fused ``nn.LSTM`` (cuDNN on GPU) over the whole
sequence: the per-step inputs depend only on the noise (directly or through the skip map), never
on earlier outputs, so no Python loop over time is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from torchgan.models import Generator

from .._validation import (
    InputError,
    check_choice,
    check_fraction,
    check_int,
    check_labels,
    check_num_classes,
    check_positive,
    check_size,
)
from ..registry import register_model
from ._blocks import init_lstm_, upsampling_plan
from ._lstm_decoders import (
    LSTM_INPUTS,
    _CanvasDecoder,
    _check_conv_inputs,
    _ConvDecoder,
    _RowsDecoder,
    gate_applies,
)

__all__ = ["DECODERS", "LABEL_TYPES", "LSTM_INPUTS", "LSTMGenerator", "gate_applies"]

DECODERS = ("conv", "rows", "canvas")
LABEL_TYPES = ("none", "generated", "required")


@register_model("lstm_generator")
class LSTMGenerator(Generator):
    r"""Generator whose image is drawn by an LSTM, for TorchGAN's ``Trainer``.

    Args:
        encoding_dims: size of the noise vector ``z``.
        out_size: image size, an int or ``(height, width)``; any side >= 8.
        out_channels: channels of the image.
        step_channels: width of the convolutional decoder (``conv``, ``canvas``): the base map has
            ``step_channels * 2**(n - 1)`` channels for ``n`` doublings, halved at each, as in
            TorchGAN's ``DCGANGenerator`` (whose default is 64). The default 32 is the command
            line's: at 64, against ``ConvDiscriminator()`` in a plain TorchGAN loop at Adam
            2e-4, the generator drew one class of Fashion-MNIST from step 500 to 750; at 32 it
            covered 9 classes by step 1,000 (docs: Benchmarks, Stability).
        batchnorm: batch normalisation in the convolutional decoder.
        nonlinearity: activation of hidden layers; ``None`` means ``LeakyReLU(0.2)``.
        last_nonlinearity: output activation; ``None`` means ``Tanh`` (images in ``[-1, 1]``).
        label_type: ``"none"``; ``"generated"`` (labels sampled by the losses) or ``"required"``
            (the data's labels) for a class-conditional generator, which needs ``num_classes``.
        hidden_size: LSTM hidden units.
        num_layers: stacked LSTM layers.
        dropout: dropout between LSTM layers, in ``[0, 1)``; needs ``num_layers > 1``.
        decoder: ``"conv"``, ``"rows"`` or ``"canvas"`` (see the module docstring).
        input_size: width of each step's projection of the noise (default ``hidden_size // 2``);
            not with ``lstm_input="skip"``, whose steps read the skip map only.
        latent_skip: ``conv`` only: a linear path from the noise to the base map beside the LSTM.
        lstm_input: ``conv`` only: what each LSTM step reads. ``"noise"`` (default): its own
            linear projection of the noise; ``"skip"``: the ``base_channels`` values of its
            cells of the latent skip map (needs ``latent_skip``), so the recurrence refines the
            map it is added to; ``"skip+noise"``: both, concatenated.
        cells_per_step: ``conv`` only: base-grid cells read and written per LSTM step (raster
            order); must divide the number of cells. More cells per step means fewer, wider
            steps (a cheaper recurrence): 4 for a 32x32 image is one row of its 4x4 grid.
        lstm_gate: ``conv`` only, with ``latent_skip``: scale the LSTM's map by a learned scalar
            that starts at 0, so training starts from the skip path and the recurrence joins in.
            ``None`` (default): on where it applies (``decoder="conv"`` with ``latent_skip``),
            off otherwise; ``True`` elsewhere is an error. The gate is what made the conv
            decoder match DCGAN on Fashion-MNIST (README, Benchmarks).
        gate_scale: with the gate: the map is scaled by ``gate_scale * g`` for the learned ``g``
            (the parameter ``decoder.gate``, starting at 0). Adam's steps have the same size
            whatever the gradient's scale, so under Adam the gate moves ``gate_scale`` times
            faster than the other weights; ``1`` (default) is the plain gate. Without the gate
            it has no effect (so a setting such as the command line's default of 10 stays valid
            when another decoder is picked).
        rows_per_step: ``rows`` only: image rows drawn per LSTM step; must divide the height.
        steps: ``canvas`` only: number of drawing steps.
        num_classes: number of classes for a conditional generator.
        recurrence: ``conv`` only, with ``latent_skip``: ``False`` removes the LSTM (and its
            input projections and gate), so the base map is the latent skip path alone and the
            convolutional decoder is unchanged: the generator less its recurrence, for
            ablations. The LSTM's arguments are then ignored.

    Raises:
        ValueError: an argument is out of range or unknown; the message names it.

    Shapes:
        ``forward(z)`` (or ``forward(z, y)`` when conditional) takes ``z`` of shape
        ``(batch, encoding_dims)`` and ``y`` of shape ``(batch,)`` with values in
        ``[0, num_classes)``, and returns ``(batch, out_channels, height, width)``.
    """

    def __init__(
        self,
        encoding_dims: int = 100,
        out_size: int | Sequence[int] = 32,
        out_channels: int = 3,
        step_channels: int = 32,
        batchnorm: bool = True,
        nonlinearity: nn.Module | None = None,
        last_nonlinearity: nn.Module | None = None,
        label_type: str = "none",
        hidden_size: int = 256,
        num_layers: int = 2,
        dropout: float = 0.0,
        decoder: str = "conv",
        input_size: int | None = None,
        latent_skip: bool = True,
        lstm_gate: bool | None = None,
        rows_per_step: int = 1,
        steps: int = 4,
        num_classes: int | None = None,
        lstm_input: str = "noise",
        cells_per_step: int = 1,
        gate_scale: float = 1.0,
        recurrence: bool = True,
    ):
        super().__init__(check_int("encoding_dims", encoding_dims), label_type)
        self.out_size = check_size("out_size", out_size)
        self.out_channels = check_int("out_channels", out_channels)
        self.decoder_name = check_choice("decoder", decoder, DECODERS)
        check_choice("label_type", label_type, LABEL_TYPES)
        check_int("step_channels", step_channels)
        check_int("num_layers", num_layers)
        if check_fraction("dropout", dropout) > 0 and num_layers == 1:
            raise InputError(
                f"dropout acts between LSTM layers, so it needs num_layers > 1, got "
                f"dropout={dropout} with num_layers=1"
            )
        hidden_size = check_int("hidden_size", hidden_size)
        _check_conv_inputs(self.decoder_name, latent_skip, lstm_input, input_size, cells_per_step)
        gate_scale = check_positive("gate_scale", gate_scale)
        input_size = max(1, hidden_size // 2) if input_size is None else input_size
        lstm_kw = {
            "input_size": check_int("input_size", input_size),
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "dropout": dropout,
        }
        self.num_classes = self._check_classes(label_type, num_classes)
        in_features = encoding_dims
        if self.num_classes is not None:
            # The label embedding is joined to the noise; each step's input is a linear read of
            # [noise, embedding] (and the conv decoder's latent skip reads it too), so the label
            # conditions every step of the recurrence directly, not only through its state.
            self.label_embedding = nn.Embedding(self.num_classes, encoding_dims)
            in_features += encoding_dims
        nl = nn.LeakyReLU(0.2) if nonlinearity is None else nonlinearity
        self.last_nonlinearity = nn.Tanh() if last_nonlinearity is None else last_nonlinearity
        if not isinstance(recurrence, bool):
            raise InputError(f"recurrence must be True or False, got {recurrence!r}")
        if not recurrence and not gate_applies(self.decoder_name, latent_skip):
            raise InputError(
                f"recurrence=False keeps the latent skip path of the conv decoder as the base "
                f"map, so it needs decoder='conv' with latent_skip=True, got decoder={decoder!r}, "
                f"latent_skip={latent_skip}"
            )
        applies = gate_applies(self.decoder_name, latent_skip) and recurrence
        if lstm_gate is None:
            lstm_gate = applies
        if lstm_gate and not applies:
            raise InputError(
                f"lstm_gate=True needs decoder='conv' with latent_skip=True and the recurrence "
                f"(the gate starts the LSTM's map at 0), got decoder={decoder!r}, "
                f"latent_skip={latent_skip}, recurrence={recurrence}"
            )
        conv_kw = {
            "lstm_input": lstm_input,
            "cells_per_step": cells_per_step,
            "recurrence": recurrence,
        }
        self.decoder = self._build_decoder(
            in_features,
            step_channels,
            batchnorm,
            nl,
            lstm_kw,
            latent_skip,
            rows_per_step,
            steps,
            conv_kw,
        )
        if lstm_gate:
            self.decoder.gate = nn.Parameter(torch.zeros(()))
            self.decoder.gate_scale = gate_scale
        self._weight_initializer()

    @staticmethod
    def _check_classes(label_type: str, num_classes: int | None) -> int | None:
        if label_type == "none":
            if num_classes is not None:
                raise InputError(
                    f"num_classes={num_classes} needs label_type 'generated' or 'required', "
                    f"got label_type='none'"
                )
            return None
        if num_classes is None:
            raise InputError(f"label_type={label_type!r} needs num_classes (an integer >= 2)")
        return check_num_classes(num_classes)

    def _build_decoder(
        self,
        in_features,
        step_channels,
        batchnorm,
        nl,
        lstm_kw,
        latent_skip,
        rows_per_step,
        steps,
        conv_kw,
    ) -> nn.Module:
        size, channels = self.out_size, self.out_channels
        if self.decoder_name == "conv":
            base = upsampling_plan(size)[0]
            cells = base[0] * base[1]
            if cells % conv_kw["cells_per_step"]:
                raise ValueError(
                    f"cells_per_step must divide the base grid's {cells} cells "
                    f"({base[0]}x{base[1]}), got {conv_kw['cells_per_step']}"
                )
            return _ConvDecoder(
                in_features,
                size,
                channels,
                step_channels,
                batchnorm,
                nl,
                lstm_kw,
                latent_skip,
                **conv_kw,
            )
        if self.decoder_name == "rows":
            check_int("rows_per_step", rows_per_step)
            if size[0] % rows_per_step:
                raise InputError(
                    f"rows_per_step must divide the image height {size[0]}, got {rows_per_step}"
                )
            return _RowsDecoder(in_features, size, channels, rows_per_step, nl, lstm_kw)
        return _CanvasDecoder(
            in_features,
            size,
            channels,
            step_channels,
            batchnorm,
            nl,
            check_int("steps", steps),
            lstm_kw,
        )

    @property
    def lstm(self) -> nn.LSTM | None:
        """The ``nn.LSTM`` that runs the recurrence of the selected decoder (``None`` with
        ``recurrence=False``)."""
        # TorchGAN's ParallelTrainer wraps each child module in nn.DataParallel.
        return getattr(self.decoder, "module", self.decoder).lstm

    def _weight_initializer(self) -> None:
        """TorchGAN's initialisation for convolutions and batch norm; standard LSTM init."""
        super()._weight_initializer()
        if self.lstm is not None:
            init_lstm_(self.lstm)

    def sampler(self, sample_size: int, device: torch.device | str) -> list[torch.Tensor]:
        """Inputs for ``forward``: ``[z]``, or ``[z, y]`` for a conditional generator.

        Args:
            sample_size: number of images.
            device: where the tensors are made.

        Returns:
            ``z`` of shape ``(sample_size, encoding_dims)``, standard normal; for a conditional
            generator also ``y`` of shape ``(sample_size,)``, uniform over the classes.
        """
        z = torch.randn(sample_size, self.encoding_dims, device=device)
        if self.num_classes is None:
            return [z]
        return [z, torch.randint(0, self.num_classes, (sample_size,), device=device)]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Generate images.

        Args:
            z: noise, ``(batch, encoding_dims)``.
            y: class labels, ``(batch,)``, for a conditional generator only.

        Returns:
            Images ``(batch, out_channels, height, width)``, in ``[-1, 1]`` with the default tanh.

        Raises:
            ValueError: ``z`` or ``y`` has the wrong shape, ``y`` is missing for a conditional
                generator, given to an unconditional one, or holds a label out of range.
        """
        if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.size(1) != self.encoding_dims:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise InputError(f"z must have shape (batch, {self.encoding_dims}), got {got}")
        if self.num_classes is not None:
            y = check_labels("y", y, z.size(0), self.num_classes)
            z = torch.cat([z, self.label_embedding(y)], dim=1)
        elif y is not None:
            raise InputError("y was given, but this generator has label_type='none'")
        return self.last_nonlinearity(self.decoder(z))
