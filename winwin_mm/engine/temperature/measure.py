"""Mean full-resolution training loss of a model for a temperature."""
from typing import Dict, List, Union

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, is_main_process
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.utils import ProgressBar
from torch import Tensor
from torch.utils.data import DataLoader

from ...models.utils import NoTemperatureError, Temperature


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside DDP/FSDP-style wrappers."""
    return model.module if is_model_wrapper(model) else model


def temperature_modules(model: nn.Module) -> Dict[str, nn.Module]:
    """The model's attention modules with a temperature, through its one
    public method ``temperature_modules()`` (see
    ``winwin_mm/models/utils/temperature.py``).

    Raises:
        NoTemperatureError: the model has none (e.g. an Iwin backbone), or
            is not a Win-Win model.
    """
    model = unwrap_model(model)
    if not hasattr(model, 'temperature_modules'):
        raise NoTemperatureError(
            f'{type(model).__name__} has no temperature_modules(): only '
            'Win-Win models (WinWinEncoderDecoder, WinWinDepthEstimator, '
            'WinWinFlowEstimator) have attention temperatures to tune')
    return model.temperature_modules()


def get_temperature(model: nn.Module) -> Union[Tensor, List[Tensor]]:
    """The model's multipliers, ``(num_layers, num_heads)`` (one row per
    attention module), or per-module tensors if the head counts differ."""
    temperature_modules(model)  # the clear error for models without any
    return unwrap_model(model).get_temperature()


def set_temperature(model: nn.Module, value: Temperature) -> None:
    """Write multipliers through the model's public ``set_temperature``."""
    temperature_modules(model)
    unwrap_model(model).set_temperature(value)


def temperature_as_list(value: Union[Tensor, List[Tensor]]) -> list:
    """JSON-ready nested list of multipliers."""
    if isinstance(value, Tensor):
        return value.tolist()
    return [v.tolist() for v in value]


def sum_losses(losses: Dict[str, object]) -> Tensor:
    """Total of the ``*loss*`` entries of a model's loss dict, as mmengine's
    ``BaseModel.parse_losses`` computes it (without its distributed
    logging)."""
    total = 0.
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        if isinstance(value, Tensor):
            total = total + value.mean()
        else:
            total = total + sum(v.mean() for v in value)
    return total


def batch_loss(model: nn.Module, data_batch: dict,
               objective: str = 'loss') -> Tensor:
    """Loss of one batch as in ``train_step``: preprocess, forward.

    Args:
        objective: ``'loss'`` = the training loss (sum of the ``*loss*``
            entries); otherwise one entry of the model's loss dict, e.g.
            ``'decode.epe'`` (the flow model's end-point error).
    """
    data = model.data_preprocessor(data_batch, True)
    losses = model(**data, mode='loss')
    if objective == 'loss':
        return sum_losses(losses)
    if objective not in losses:
        raise KeyError(f'objective {objective!r} is not in the model\'s loss '
                       f'dict (keys: {sorted(losses)}); use \'loss\' or one '
                       'of these')
    return losses[objective].mean()


class FullResolutionLoss:
    """``loss(m)``: mean training loss over a dataloader of whole images,
    with the model's temperature set to ``m`` (left set afterwards).

    The model is put in eval mode (no dropout, no drop path) and run under
    ``torch.no_grad``; its previous train/eval mode is restored. Losses are
    summed over processes, so every process gets the same value.

    Args:
        model: the (possibly wrapped) model.
        dataloader: full-resolution training images, e.g. from
            :func:`~.data.build_full_resolution_dataloader`.
        progress: show a progress bar per evaluation (main process).
        objective: ``'loss'`` or a key of the model's loss dict (see
            :func:`batch_loss`).
    """

    def __init__(self, model: nn.Module, dataloader: DataLoader,
                 progress: bool = True, objective: str = 'loss') -> None:
        self.model = unwrap_model(model)
        self.dataloader = dataloader
        self.progress = progress
        self.objective = objective
        self.forward_passes = 0  # images forwarded, all processes

    @torch.no_grad()
    def __call__(self, value: Temperature) -> float:
        set_temperature(self.model, value)
        was_training = self.model.training
        self.model.eval()
        bar = None
        if self.progress and is_main_process():
            bar = ProgressBar(len(self.dataloader))
        device = next(self.model.parameters()).device
        total = torch.zeros(2, dtype=torch.float64, device=device)
        try:
            for data_batch in self.dataloader:
                n = len(data_batch['inputs'])
                total[0] += batch_loss(self.model, data_batch,
                                       self.objective).double() * n
                total[1] += n
                if bar is not None:
                    bar.update()
        finally:
            self.model.train(was_training)
        if bar is not None:
            bar.file.write('\n')
        all_reduce(total)  # sum over processes
        self.forward_passes += int(total[1])
        loss = float(total[0] / total[1])
        what = (f'x{value:.4g}' if isinstance(value, (int, float)) else
                'per head')
        print_log(f'temperature {what}: full-resolution train '
                  f'{self.objective} {loss:.6f}', logger='current')
        return loss

    def num_images(self) -> int:
        """Images per evaluation, all processes together."""
        return len(self.dataloader.dataset)
