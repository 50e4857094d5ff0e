"""Write the bundled demo dataset in the raw Caltech layout (seq + vbb).

    python tools/dataset_converters/make_demo_caltech.py data/demo_caltech_raw \\
        [--train-frames 150] [--test-frames 600] [--videos 1] [--seed 0]

Writes set00-set05 (training videos) and set06-set10 (test videos), each with
``--videos`` videos, as ``setXX/VYYY.seq`` and ``annotations/setXX/VYYY.vbb``;
then convert them like the real benchmark:

    python tools/dataset_converters/caltech.py data/demo_caltech_raw \\
        data/demo_caltech --train-skip 3

Videos already written are kept (delete the folder to regenerate).
"""
import argparse
import os.path as osp

from tqdm import tqdm

from mmmimic.datasets.caltech_convert import TEST_SETS, TRAIN_SETS
from mmmimic.datasets.demo_caltech import write_demo_video


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate the procedural Caltech-format demo dataset')
    parser.add_argument('out_dir', help='raw dataset folder to write')
    parser.add_argument('--train-frames', type=int, default=150,
                        help='frames per training video')
    parser.add_argument('--test-frames', type=int, default=600,
                        help='frames per test video (every 30th is tested)')
    parser.add_argument('--videos', type=int, default=1,
                        help='videos per set')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    jobs = []
    for set_index, set_name in enumerate(TRAIN_SETS + TEST_SETS):
        frames = args.train_frames if set_name in TRAIN_SETS \
            else args.test_frames
        for v in range(args.videos):
            seed = args.seed * 1000 + set_index * 37 + v
            jobs.append((set_name, f'V{v:03d}', frames, seed))
    objects = 0
    for set_name, video, frames, seed in tqdm(jobs, desc='demo videos',
                                              unit='video'):
        seq = osp.join(args.out_dir, set_name, f'{video}.seq')
        vbb = osp.join(args.out_dir, 'annotations', set_name, f'{video}.vbb')
        if osp.isfile(seq) and osp.isfile(vbb):
            continue
        objects += write_demo_video(seq, vbb, seed, frames)
    print(f'wrote {len(jobs)} videos to {args.out_dir} ({objects} annotated '
          'objects in the new ones)')


if __name__ == '__main__':
    main()
