"""The contract between the distiller and a mimic term: what a step offers
while mimic is off, zeros that keep the adapter in the graph (DDP without
find_unused_parameters), and a term's keys and values checked every step."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from torch.nn.parallel import DistributedDataParallel

from mmmimic.engine.hooks import MimicScheduleHook
from mmmimic.models.losses import BaseMimicLoss, MimicStep, zero_through
from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules

from .._tiny import batch, distiller_cfg, training_distiller

register_all_modules()


class GuideTerm(BaseMimicLoss):
    """A user's term as the guide writes one: mean squared error of the maps,
    default zero_losses; records whether mimic was on at each step."""
    loss_names = ('loss_mimic_mse', )

    def __init__(self, returns=None) -> None:
        super().__init__()
        self.returns = returns
        self.seen_on = []

    def step_loss(self, step: MimicStep) -> dict:
        self.seen_on.append(step.mimic_on)
        if self.returns is not None:
            return self.returns(step)
        return dict(loss_mimic_mse=sum(
            ((s - t) ** 2).mean() for s, t in
            zip(step.student_maps, step.teacher_maps)))

    def zero_losses(self, step: MimicStep) -> dict:
        self.seen_on.append(step.mimic_on)
        return super().zero_losses(step)


def with_term(term: BaseMimicLoss):
    """A tiny distiller (adapter 32 -> 64 channels) whose feature term is
    ``term``."""
    model = training_distiller(distiller_cfg(None, student_base=8,
                                             teacher_base=16))
    model.mimic_loss = term
    assert model.mimic_adapter is not None
    return model


def test_a_term_runs_through_a_whole_schedule_with_fade_out():
    """mimic_on is readable on and off; while off the default zeros keep the
    adapter in the graph (zero gradients), so no parameter goes unused."""
    term = GuideTerm()
    model = with_term(term)
    hook = MimicScheduleHook(warmup_iters=2, fade_iters=(3, 5))
    inputs, samples = batch(model)
    weights = []
    for i in range(6):
        model.mimic_weight = hook.factor(i)
        weights.append(model.mimic_weight)
        model.zero_grad()
        losses = model.loss(inputs, samples)
        assert set(losses) >= {'loss_mimic_mse'}
        model.parse_losses(losses)[0].backward()
        grads = [p.grad for p in model.mimic_adapter.parameters()]
        assert all(g is not None for g in grads), 'adapter left the graph'
        if model.mimic_weight == 0:
            assert losses['loss_mimic_mse'].item() == 0
            assert all(g.abs().sum() == 0 for g in grads)
    assert weights[-1] == 0 and weights[0] > 0
    assert term.seen_on == [w > 0 for w in weights]


@pytest.mark.parametrize('returns, error, message', [
    (lambda s: dict(loss_mimic_mse=torch.zeros(()), loss_mimic_x=torch.zeros(
        ())), KeyError, r"GuideTerm.step_loss returned keys .*not declared: "
     r"\['loss_mimic_x'\]"),
    (lambda s: dict(), KeyError, r"missing: \['loss_mimic_mse'\]"),
    (lambda s: dict(loss_mimic_mse=torch.zeros(3)), ValueError,
     r'loss_mimic_mse is \(3,\), not a scalar tensor'),
    (lambda s: dict(loss_mimic_mse=1.0), ValueError, 'is float, not a scalar'),
    (lambda s: dict(loss_mimic_mse=torch.tensor(float('nan'))),
     FloatingPointError, r"GuideTerm.step_loss: not finite: "
     r"\{'loss_mimic_mse': nan\}"),
    (lambda s: [torch.zeros(())], TypeError, 'returned list'),
])
def test_what_a_term_returns_is_checked_every_step(returns, error, message):
    model = with_term(GuideTerm(returns))
    inputs, samples = batch(model)
    with pytest.raises(error, match=message):
        model.loss(inputs, samples)


@pytest.mark.parametrize('names, error, message', [
    (('mimic_mse', ), ValueError, r'without "loss" in the name'),
    ((), TypeError, 'give a tuple of key names'),
    ('loss_mimic', TypeError, 'give a tuple of key names'),
])
def test_loss_names_are_checked_when_the_term_is_built(names, error, message):
    name = f'BadNames{abs(hash(names))}'
    MODELS.register_module(name=name, module=type(
        name, (GuideTerm, ), dict(loss_names=names)), force=True)
    cfg = distiller_cfg(None, student_base=8, teacher_base=8,
                        mimic_loss=dict(type=name))
    with DefaultScope.overwrite_default_scope('mmmimic'), \
            pytest.raises(error, match=message):
        MODELS.build(ConfigDict(cfg))


def test_zero_through_is_zero_and_reaches_every_input():
    a = torch.randn(2, 3, requires_grad=True)
    b = torch.randn(4, requires_grad=True)
    zero = zero_through([a, b])
    assert zero.item() == 0 and zero.dim() == 0
    zero.backward()
    assert a.grad is not None and b.grad is not None
    assert a.grad.abs().sum() == 0


def ddp_worker(rank: int, port: int, results) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        model = with_term(GuideTerm())
        ddp = DistributedDataParallel(model, find_unused_parameters=False)
        inputs, samples = batch(model, seed=rank)
        hook = MimicScheduleHook(fade_iters=(1, 2))
        for i in range(4):   # on, then off: a parameter left unused would
            model.mimic_weight = hook.factor(i)   # fail at the next step
            losses = ddp(inputs, samples, mode='loss')
            model.parse_losses(losses)[0].backward()
        results[rank] = [float(p.detach().sum()) for p in
                         model.mimic_adapter.parameters()]
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_without_find_unused_parameters_through_fade_out():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(ddp_worker, args=(port, results), nprocs=2, join=True)
    assert sorted(results) == [0, 1]
