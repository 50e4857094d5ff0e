"""Convert the raw Caltech Pedestrian benchmark (.seq + .vbb) for training.

    python tools/dataset_converters/caltech.py RAW_DIR OUT_DIR \\
        [--splits train test] [--train-skip 30|3] [--workers 4] \\
        [--ann-dir RAW_DIR/annotations] [--new-annotations DIR]

RAW_DIR holds set00/ ... set10/ with VYYY.seq and annotations/setXX/VYYY.vbb.
OUT_DIR gets images/setXX_VYYY_IZZZZZ.jpg and annotations/{split}.json
(test.json; train.json for --train-skip 30, train-10x.json for 3). Frames already
written are kept, so an interrupted run resumes; every file is written to a
temporary name and renamed, so nothing half-written is left.
"""
import argparse
import os
import os.path as osp
from functools import partial
from multiprocessing import Pool

from tqdm import tqdm

from mmmimic.datasets.caltech_convert import (
    TEST_SETS,
    TRAIN_SETS,
    PositiveRule,
    atomic_write_json,
    build_coco,
    convert_video,
    find_videos,
    split_file_name,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Caltech Pedestrian .seq/.vbb -> JPEG + COCO-style JSON')
    parser.add_argument('raw_dir', help='folder with set00 ... set10')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'],
                        choices=['train', 'test'])
    parser.add_argument('--train-skip', type=int, default=30,
                        help='every n-th training frame: 30 (1x) or 3 (10x)')
    parser.add_argument('--test-skip', type=int, default=30,
                        help='every n-th test frame (the benchmark: 30)')
    parser.add_argument('--ann-dir', help='folder with setXX/VYYY.vbb '
                        '(default RAW_DIR/annotations)')
    parser.add_argument('--new-annotations',
                        help='folder of bbGt text files (setXX_VYYY_IZZZZZ.txt, '
                        'e.g. Zhang et al. 2016) used instead of the .vbb files')
    parser.add_argument('--min-height', type=float, default=50,
                        help='training positives: minimum height (pixels)')
    parser.add_argument('--min-visibility', type=float, default=0.65,
                        help='training positives: minimum visible fraction')
    parser.add_argument('--workers', type=int, default=1,
                        help='videos converted in parallel')
    return parser.parse_args()


def convert_split(args, split: str) -> str:
    sets = TRAIN_SETS if split == 'train' else TEST_SETS
    skip = args.train_skip if split == 'train' else args.test_skip
    videos = find_videos(args.raw_dir, sets)
    if not videos:
        raise FileNotFoundError(
            f'{args.raw_dir}: no {sets[0]}/V*.seq ... {sets[-1]}/V*.seq for '
            f'the {split} split')
    rule = PositiveRule(min_height=args.min_height,
                        min_visibility=args.min_visibility)
    work = partial(_convert_one, args.raw_dir, args.out_dir, skip,
                   args.ann_dir, args.new_annotations, rule)
    images, annotations = [], []
    with Pool(args.workers) if args.workers > 1 else _Serial() as pool:
        for video_images, video_anns in tqdm(
                pool.imap(work, videos), total=len(videos),
                desc=f'{split} videos', unit='video'):
            images += video_images
            annotations += video_anns
    out = osp.join(args.out_dir, 'annotations', split_file_name(split, skip))
    atomic_write_json(out, build_coco(images, annotations))
    return out


def _convert_one(raw_dir, out_dir, skip, ann_dir, new_annotations, rule, video):
    set_name, name, path = video
    return convert_video(raw_dir, out_dir, set_name, name, path, skip,
                         ann_dir=ann_dir, new_annotations=new_annotations,
                         rule=rule)


class _Serial:
    """Pool stand-in for --workers 1 (no subprocesses)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def imap(fn, items):
        return map(fn, items)


def main() -> None:
    args = parse_args()
    os.makedirs(osp.join(args.out_dir, 'images'), exist_ok=True)
    os.makedirs(osp.join(args.out_dir, 'annotations'), exist_ok=True)
    for split in args.splits:
        out = convert_split(args, split)
        print(f'{split}: wrote {out}')


if __name__ == '__main__':
    main()
