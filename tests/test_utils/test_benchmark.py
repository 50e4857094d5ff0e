"""Measurement helpers: FLOPs on noise or on a given image, latency."""
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from mmmimic.registry import MODELS
from mmmimic.utils import register_all_modules
from mmmimic.utils.benchmark import complexity, markdown_table, predict_ms

from ..test_models._tiny import tiny_detector

register_all_modules()


def build(base):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmmimic'):
        return MODELS.build(ConfigDict(tiny_detector(base)))


def test_complexity_on_an_image_is_deterministic_and_scales_with_width():
    image = torch.randint(0, 255, (3, 96, 128), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    wide, thin = build(16), build(8)
    first = complexity(wide, (96, 128), image)
    assert first == complexity(wide, (96, 128), image)
    assert first['params'] == sum(p.numel() for p in wide.parameters()) / 1e6
    small = complexity(thin, (96, 128), image)
    assert 0 < small['gflops'] < first['gflops']
    assert small['params'] < first['params']
    # noise input: same parameter count, some FLOP count
    noise = complexity(wide, (96, 128))
    assert noise['params'] == first['params'] and noise['gflops'] > 0
    assert predict_ms(thin, (96, 128), repeats=2, warmup=1, image=image) > 0


def test_markdown_table():
    table = markdown_table(['a', 'b'], [['x', 1.23456], ['y', 2]])
    assert table.splitlines() == ['| a | b |', '|---|---|', '| x | 1.23 |',
                                  '| y | 2 |']


def test_noise_input_is_made_on_the_models_device(monkeypatch):
    """mmengine's complexity counter does not move inputs: on CUDA a CPU input
    fails. 'meta' stands for a device other than the CPU here."""
    import mmengine.analysis

    from mmmimic.utils.benchmark import model_device
    seen = []

    def counter(model, inputs, **kwargs):
        seen.append(inputs.device)
        return dict(flops=1e9)

    monkeypatch.setattr(mmengine.analysis, 'get_model_complexity_info', counter)
    model = build(8).to('meta')
    assert model_device(model) == torch.device('meta')
    assert complexity(model, (96, 128))['gflops'] == 1.0
    assert seen == [torch.device('meta')]
    assert model_device(torch.nn.ReLU()) == torch.device('cpu')
