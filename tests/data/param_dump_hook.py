"""Each rank saves its parameters after iteration ``at_iter`` to
``work_dir/params_rank{RANK}.pth``, for the distributed tests (replicas must
stay identical). Imported through custom_imports with tests/data on
PYTHONPATH."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmmimic.registry import HOOKS


@HOOKS.register_module()
class ParamDumpHook(Hook):

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 != self.at_iter:
            return
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        params = {k: v.detach().clone() for k, v in model.named_parameters()}
        torch.save(params, osp.join(runner.work_dir,
                                    f'params_rank{get_rank()}.pth'))
