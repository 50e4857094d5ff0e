"""Convert the raw Caltech Pedestrian benchmark (.seq + .vbb) for training.

    python tools/dataset_converters/caltech.py RAW_DIR OUT_DIR \\
        [--splits train test] [--train-skip 30|3] [--workers 4] \\
        [--ann-dir RAW_DIR/annotations] [--new-annotations DIR]

RAW_DIR holds set00/ ... set10/ with VYYY.seq and annotations/setXX/VYYY.vbb.
OUT_DIR gets images/setXX_VYYY_IZZZZZ.jpg and annotations/{split}.json
(test.json; train.json for --train-skip 30, train-10x.json for 3). Every
frame written is decoded once and checked against its video's header; a
damaged or inconsistent .seq/.vbb stops the run with CaltechFormatError naming
the file, the frame and the values that disagree, and no annotation file is
written. OUT_DIR/convert_manifest.json records each converted video's source
(size, mtime): a re-run keeps the frames of unchanged videos (an interrupted
run resumes) and writes those of changed ones again. Every file is written to
a temporary name and renamed, so nothing half-written is left. Each split's
statistics are printed: persons and Reasonable pedestrians per image, the
share of images without one, the height quantiles and scales, occlusion.
"""
import argparse
import json
import os
import os.path as osp

from mmmimic.datasets.caltech.convert import convert_split
from mmmimic.datasets.caltech.positives import PositiveRule
from mmmimic.datasets.caltech.stats import format_statistics, split_statistics
from mmmimic.utils.cli import (
    UsageError,
    finite_at_least,
    folder_path,
    non_negative_float,
    positive_int,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Caltech Pedestrian .seq/.vbb -> JPEG + COCO-style JSON')
    parser.add_argument('raw_dir', type=folder_path, help='folder with set00 ... set10')
    parser.add_argument('out_dir', type=folder_path, help='output folder')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'],
                        choices=['train', 'test'])
    parser.add_argument('--train-skip', type=positive_int, default=30,
                        help='every n-th training frame: 30 (1x) or 3 (10x)')
    parser.add_argument('--test-skip', type=positive_int, default=30,
                        help='every n-th test frame (the benchmark: 30)')
    parser.add_argument('--ann-dir', help='folder with setXX/VYYY.vbb '
                        '(default RAW_DIR/annotations)')
    parser.add_argument('--new-annotations',
                        help='folder of bbGt text files (setXX_VYYY_IZZZZZ.txt, '
                        'e.g. Zhang et al. 2016) used instead of the .vbb files')
    parser.add_argument('--min-height', type=non_negative_float, default=50,
                        help='training positives: minimum height (pixels)')
    parser.add_argument('--min-visibility', type=finite_at_least(0, 1), default=0.65,
                        help='training positives: minimum visible fraction')
    parser.add_argument('--workers', type=positive_int, default=1,
                        help='videos converted in parallel')
    return parser.parse_args()


def check_out_dir(args: argparse.Namespace) -> None:
    """Refuse an OUT_DIR that is an input folder (or inside an annotation
    folder): its images/ and annotations/ would be written among the files
    the conversion reads."""
    out = osp.realpath(args.out_dir)
    inputs = (('RAW_DIR', args.raw_dir, False),
              ('--ann-dir', args.ann_dir or
               osp.join(args.raw_dir, 'annotations'), True),
              ('--new-annotations', args.new_annotations, True))
    for flag, folder, nor_inside in inputs:
        if not folder:
            continue
        folder = osp.realpath(folder)
        if out == folder or (nor_inside and out.startswith(folder + os.sep)):
            raise UsageError(
                f'OUT_DIR {args.out_dir}: {"is" if out == folder else "is in"}'
                f' the {flag} folder {folder}, which the conversion reads; '
                'choose an output folder of its own')


def main() -> None:
    args = parse_args()
    check_out_dir(args)
    rule = PositiveRule(min_height=args.min_height,
                        min_visibility=args.min_visibility)
    for split in args.splits:
        out = convert_split(
            args.raw_dir, args.out_dir, split,
            args.train_skip if split == 'train' else args.test_skip,
            ann_dir=args.ann_dir, new_annotations=args.new_annotations,
            rule=rule, workers=args.workers)
        with open(out) as f:
            stats = format_statistics(split_statistics(json.load(f)))
        print(f'{split}: wrote {out}\n  {stats}', flush=True)


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
