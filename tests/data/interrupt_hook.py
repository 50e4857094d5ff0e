"""A hook that stops training like Ctrl-C after iteration ``at_iter`` (its
checkpoint saved), for the resume tests. Imported through custom_imports with
tests/data on PYTHONPATH."""
from mmengine.hooks import Hook

from mmmimic.registry import HOOKS


@HOOKS.register_module()
class InterruptHook(Hook):
    priority = 'LOWEST'     # after CheckpointHook (VERY_LOW)

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.at_iter:
            raise KeyboardInterrupt(f'interrupted after iteration {self.at_iter}')
