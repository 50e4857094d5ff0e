from typing import Optional, Sequence, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmmimic.registry import HOOKS


@HOOKS.register_module()
class MimicScheduleHook(Hook):
    """Warm-up and fade-out of the mimic losses, set on the distiller before
    every training iteration (``model.mimic_weight``).

    The factor at iteration ``i`` (0-based) is
    ``min(1, (i + 1) / warmup_iters)`` times, with ``fade_iters=(begin, end)``,
    ``clip((end - i) / (end - begin), 0, 1)``. At 0 the distiller does not run
    the teacher at all and logs its mimic losses as zeros: the student's heads
    finish training on the ground truth alone. The factor is a function of the
    runner's iteration, which ``--resume`` restores, so a resumed run gets
    the same factors as an uninterrupted one.

    Use::

        custom_hooks = [dict(type='MimicScheduleHook', warmup_iters=500,
                             fade_iters=(40000, 50000))]

    Args:
        warmup_iters (int): Linear ramp from 1 / warmup_iters to 1; 0 = none.
        fade_iters (tuple[int, int], optional): ``(begin, end)`` of a linear
            fall to 0, ``0 <= begin < end``; None keeps mimic on throughout.
    """
    priority = 'NORMAL'

    def __init__(self, warmup_iters: int = 0,
                 fade_iters: Optional[Sequence[int]] = None) -> None:
        if int(warmup_iters) != warmup_iters or warmup_iters < 0:
            raise ValueError(
                f'MimicScheduleHook warmup_iters={warmup_iters!r}: an integer '
                '>= 0')
        self.warmup_iters = int(warmup_iters)
        self.fade_iters = self._check_fade(fade_iters)

    @staticmethod
    def _check_fade(fade: Optional[Sequence[int]]
                    ) -> Optional[Tuple[int, int]]:
        if fade is None:
            return None
        if len(fade) != 2 or not 0 <= int(fade[0]) < int(fade[1]):
            raise ValueError(
                f'MimicScheduleHook fade_iters={tuple(fade)!r}: give (begin, '
                'end) iterations with 0 <= begin < end, e.g. (600, 900) to '
                'fade the mimic losses out over the third quarter of 1200 '
                'iterations')
        return int(fade[0]), int(fade[1])

    def factor(self, step: int) -> float:
        """The mimic weight at (0-based) iteration ``step``."""
        weight = 1.0
        if self.warmup_iters > 0:
            weight = min(1.0, (step + 1) / self.warmup_iters)
        if self.fade_iters is not None:
            begin, end = self.fade_iters
            weight *= min(1.0, max(0.0, (end - step) / (end - begin)))
        return weight

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if not hasattr(model, 'mimic_weight'):
            raise TypeError(
                f'MimicScheduleHook: the model ({type(model).__name__}) has no '
                'mimic_weight; the hook schedules a FeatureMimicDistiller. '
                'Remove it from custom_hooks.')
        model.mimic_weight = self.factor(runner.iter)
