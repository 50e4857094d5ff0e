import random
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook

from mmmimic.registry import HOOKS
from mmmimic.utils.compat import runner_is_resuming


def cpu_byte_tensor(state: Any) -> torch.Tensor:
    """A generator state as ``torch.set_rng_state`` takes it: a CPU uint8
    tensor. MMEngine's ``Runner.resume`` maps the checkpoint onto the GPU
    before ``after_load_checkpoint``, so on a GPU the saved states arrive as
    CUDA tensors."""
    if isinstance(state, torch.Tensor):
        return state.detach().to(device='cpu', dtype=torch.uint8) \
            .as_subclass(torch.Tensor)
    return torch.as_tensor(np.asarray(state), dtype=torch.uint8)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random generators' states in checkpoints; restore them on resume.

    MMEngine restores the iteration, the optimizer, the schedulers and the data
    position on ``--resume``, but re-seeds the random generators, so the
    samplers of a two-stage detector (RPN and RoI sampling, the mimic region
    sampler) draw differently than the uninterrupted run would have. With this
    hook a single-process run with a deterministic data pipeline resumes onto
    exactly the same trajectory. Loading with ``load_from`` (fine-tuning)
    leaves the generators alone.

    Saved under ``checkpoint['rng_state']``: torch's CPU and CUDA generators,
    NumPy's and Python's ``random``. In distributed runs the checkpoint holds
    rank 0's states, which every rank then restores.

    The train dataloader gets a generator of its own (seeded from the run's
    seed) unless it has one: otherwise each new pass over the data draws its
    workers' base seed from torch's global generator, and the batches that a
    resumed run skips would shift the restored state.
    """

    priority = 'VERY_LOW'

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if getattr(loader, 'generator', False) is None:
            seed = runner.seed if isinstance(runner.seed, int) else 0
            loader.generator = torch.Generator().manual_seed(seed)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(torch=torch.get_rng_state(), numpy=np.random.get_state(),
                     python=random.getstate())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None or not runner_is_resuming(runner):
            return
        torch.set_rng_state(cpu_byte_tensor(state['torch']))
        np.random.set_state(state['numpy'])
        random.setstate(state['python'])
        if 'cuda' in state and torch.cuda.is_available():
            cuda = [cpu_byte_tensor(s) for s in state['cuda']]
            if len(cuda) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(cuda)
        runner.logger.info('RNGStateHook: random generator states restored '
                           'from the checkpoint')
