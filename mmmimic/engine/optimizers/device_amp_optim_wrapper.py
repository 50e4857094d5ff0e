import importlib
from contextlib import contextmanager
from typing import Iterator, Optional, Union

import torch
import torch.nn as nn
from mmengine.device import get_device
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmmimic.registry import OPTIM_WRAPPERS


@contextmanager
def mmcv_cpu_ops_in_fp32() -> Iterator[None]:
    """Run mmcv's ``nms`` and ``roi_align`` in fp32 under CPU autocast.

    mmcv 2.1's CPU kernels of these ops have no bf16 version ("not implemented
    for 'BFloat16'"), and autocast only casts PyTorch's own ops. Within this
    context the module-level functions that mmcv's ``batched_nms`` and
    ``RoIAlign`` call are replaced by wrappers that cast their inputs to fp32
    (gradients flow back through the cast); they are restored on exit.
    """
    # import_module: the attributes mmcv.ops.nms / roi_align are the functions
    nms_module = importlib.import_module('mmcv.ops.nms')
    roi_align_module = importlib.import_module('mmcv.ops.roi_align')
    nms, roi_align = nms_module.nms, roi_align_module.roi_align

    def nms_fp32(boxes, scores, *args, **kwargs):
        return nms(boxes.float(), scores.float(), *args, **kwargs)

    def roi_align_fp32(input, rois, *args, **kwargs):
        return roi_align(input.float(), rois.float(), *args, **kwargs)

    nms_module.nms, roi_align_module.roi_align = nms_fp32, roi_align_fp32
    try:
        yield
    finally:
        nms_module.nms, roi_align_module.roi_align = nms, roi_align


def disabled_cpu_grad_scaler():
    """A disabled loss scaler for bf16 on the CPU (bf16 needs no scaling; the
    scaler keeps ``AmpOptimWrapper``'s checkpoint layout).

    ``torch.amp.GradScaler('cpu', ...)`` where torch has it (2.3 and later);
    older torch has only ``torch.cuda.amp.GradScaler``, which, disabled, does
    the same (no CUDA needed): ``scale`` returns the loss, ``step`` steps and
    its ``state_dict`` is empty.
    """
    scaler = getattr(getattr(torch, 'amp', None), 'GradScaler', None)
    if scaler is not None:
        try:
            return scaler('cpu', enabled=False)
        except TypeError:   # a GradScaler without a device argument
            pass
    from torch.cuda.amp import GradScaler
    return GradScaler(enabled=False)


@OPTIM_WRAPPERS.register_module()
class DeviceAmpOptimWrapper(AmpOptimWrapper):
    """Mixed precision on the device the run has: what ``--amp`` selects.

    - CUDA (and the other accelerators MMEngine knows): MMEngine's
      :class:`AmpOptimWrapper` -- fp16 autocast (or ``dtype``) with dynamic loss
      scaling.
    - CPU: bf16 autocast, which ``AmpOptimWrapper`` refuses. bf16 has fp32's
      exponent range, so no loss scaling is needed; a disabled scaler keeps the
      checkpoint layout of ``AmpOptimWrapper``. mmcv's CPU ``nms`` and
      ``roi_align`` have no bf16 kernels and run in fp32
      (:func:`mmcv_cpu_ops_in_fp32`).

    The whole ``train_step`` runs under the autocast, the distiller's teacher
    forward included; :class:`RoIMimicLoss` accumulates in fp32 whatever its
    inputs are.

    Args:
        loss_scale (str | float | dict): As for ``AmpOptimWrapper`` (CUDA).
        dtype (str | torch.dtype, optional): Autocast dtype; default fp16 on
            CUDA and bf16 on CPU (the only dtype CPU autocast supports).
        **kwargs: :class:`OptimWrapper`'s arguments.
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 **kwargs) -> None:
        self.device_type = get_device()
        if self.device_type != 'cpu':
            super().__init__(loss_scale=loss_scale, dtype=dtype, **kwargs)
            return
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None)
        if dtype not in (None, torch.bfloat16):
            raise ValueError(
                f'DeviceAmpOptimWrapper: dtype={dtype} on CPU; CPU autocast '
                "only supports bfloat16: set optim_wrapper.dtype='bfloat16' "
                '(or leave it unset) or train on a GPU')
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = disabled_cpu_grad_scaler()
        self.cast_dtype = torch.bfloat16

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Autocast (and, on CPU, fp32 mmcv ops) around the forward pass."""
        with super().optim_context(model):
            if self.device_type == 'cpu':
                with mmcv_cpu_ops_in_fp32():
                    yield
            else:
                yield
