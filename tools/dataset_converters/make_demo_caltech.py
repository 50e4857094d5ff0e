"""Write the bundled demo dataset in the raw Caltech layout (seq + vbb).

    python tools/dataset_converters/make_demo_caltech.py data/demo_caltech_raw \\
        [--train-frames 100] [--test-frames 200] [--videos 3] [--seed 0] \\
        [--workers 2]

Writes set00-set05 (training videos) and set06-set10 (test videos), each with
``--videos`` videos (scenes), as ``setXX/VYYY.seq`` and
``annotations/setXX/VYYY.vbb``; then convert them like the real benchmark, here
with every 10th test frame (``annotations/test-3x.json``) so that the short
test videos give 300 test images:

    python tools/dataset_converters/caltech.py data/demo_caltech_raw \\
        data/demo_caltech --train-skip 3 --test-skip 10

Videos already written are kept (delete the folder to regenerate).
"""
import argparse
import os
import os.path as osp
from multiprocessing import Pool
from typing import Tuple

from tqdm import tqdm

from mmmimic.datasets.caltech_convert import TEST_SETS, TRAIN_SETS
from mmmimic.datasets.demo_caltech import write_demo_video


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate the procedural Caltech-format demo dataset')
    parser.add_argument('out_dir', help='raw dataset folder to write')
    parser.add_argument('--train-frames', type=int, default=100,
                        help='frames per training video')
    parser.add_argument('--test-frames', type=int, default=200,
                        help='frames per test video')
    parser.add_argument('--videos', type=int, default=3,
                        help='videos (each its own scene) per set')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=min(4, os.cpu_count()),
                        help='videos rendered in parallel')
    return parser.parse_args()


def render(job: Tuple[str, str, int, int]) -> int:
    """Write one video (seq + vbb); the number of annotated objects."""
    seq, vbb, frames, seed = job
    if osp.isfile(seq) and osp.isfile(vbb):
        return 0
    return write_demo_video(seq, vbb, seed, frames)


def main() -> None:
    args = parse_args()
    jobs = []
    for set_index, set_name in enumerate(TRAIN_SETS + TEST_SETS):
        frames = args.train_frames if set_name in TRAIN_SETS \
            else args.test_frames
        for v in range(args.videos):
            seed = args.seed * 1000 + set_index * 37 + v
            jobs.append((osp.join(args.out_dir, set_name, f'V{v:03d}.seq'),
                         osp.join(args.out_dir, 'annotations', set_name,
                                  f'V{v:03d}.vbb'), frames, seed))
    progress = dict(total=len(jobs), desc='demo videos', unit='video')
    if args.workers > 1:
        with Pool(args.workers) as pool:
            objects = sum(tqdm(pool.imap_unordered(render, jobs), **progress))
    else:
        objects = sum(tqdm(map(render, jobs), **progress))
    print(f'wrote {len(jobs)} videos to {args.out_dir} ({objects} annotated '
          'objects in the new ones)')


if __name__ == '__main__':
    main()
