"""Write the bundled demo dataset in the raw Caltech layout (seq + vbb).

    python tools/dataset_converters/make_demo_caltech.py data/demo_caltech_raw \\
        [--train-frames 100] [--test-frames 100] [--videos 3] \\
        [--test-videos 10] [--seed 0] [--workers 2] [--variant dense|sparse]

Writes set00-set05 (training videos, ``--videos`` scenes each) and set06-set10
(test videos, ``--test-videos`` scenes each) as ``setXX/VYYY.seq`` and
``annotations/setXX/VYYY.vbb``; then convert them like the real benchmark, here
with every 5th test frame (``annotations/test-6x.json``: 1000 test images from
50 scenes):

    python tools/dataset_converters/caltech.py data/demo_caltech_raw \\
        data/demo_caltech --train-skip 3 --test-skip 5

``--variant sparse`` draws the Caltech-like variant instead (most frames with
no or one pedestrian, smaller and more occluded walkers, three times the
people-like clutter, textured facades: ``demo_caltech_sparse.py``).

The folder gets ``demo_manifest.json``: the arguments and the SHA-256 of the
renderer's source. Videos already written are kept only when the manifest
equals this run's; a folder written with other arguments or by another version
of the renderer is written again from scratch (no mixing of old and new videos).
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import shutil
import sys
from multiprocessing import Pool
from typing import Tuple

from tqdm import tqdm

from mmmimic.datasets.caltech.convert import TEST_SETS, TRAIN_SETS
from mmmimic.utils.atomic import atomic_write_bytes
from mmmimic.utils.cli import folder_path, int_at_least, positive_int

# the renderer lives beside this tool (it is the demo's, not the package's)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import demo_caltech_render  # noqa: E402
import demo_caltech_sparse  # noqa: E402
from demo_caltech_render import write_demo_video  # noqa: E402
from demo_caltech_sparse import write_sparse_video  # noqa: E402

MANIFEST = 'demo_manifest.json'
#: each variant's video writer
WRITERS = {'dense': write_demo_video, 'sparse': write_sparse_video}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate the procedural Caltech-format demo dataset')
    parser.add_argument('out_dir', type=folder_path, help='raw dataset folder to write')
    parser.add_argument('--train-frames', type=positive_int, default=100,
                        help='frames per training video')
    parser.add_argument('--test-frames', type=positive_int, default=100,
                        help='frames per test video')
    parser.add_argument('--videos', type=positive_int, default=3,
                        help='videos (each its own scene) per training set')
    parser.add_argument('--test-videos', type=positive_int, default=10,
                        help='videos (each its own scene) per test set')
    parser.add_argument('--seed', type=int_at_least(0), default=0)
    parser.add_argument('--variant', choices=sorted(WRITERS), default='dense',
                        help='dense: the demo (default); sparse: Caltech-like '
                        'frames (demo_caltech_sparse.py)')
    parser.add_argument('--workers', type=positive_int, default=min(4, os.cpu_count()),
                        help='videos rendered in parallel')
    return parser.parse_args()


def render(job: Tuple[str, str, int, int, str]) -> int:
    """Write one video (seq + vbb); the number of annotated objects."""
    seq, vbb, frames, seed, variant = job
    if osp.isfile(seq) and osp.isfile(vbb):
        return 0
    return WRITERS[variant](seq, vbb, seed, frames)


def manifest(args: argparse.Namespace) -> dict:
    """What decides the files' content: the arguments and the renderer."""
    def sha256(module) -> str:
        with open(module.__file__, 'rb') as f:
            return hashlib.sha256(f.read()).hexdigest()

    wanted = dict(train_frames=args.train_frames, test_frames=args.test_frames,
                  videos=args.videos, test_videos=args.test_videos,
                  seed=args.seed, renderer_sha256=sha256(demo_caltech_render))
    if args.variant != 'dense':   # (the dense manifest as it always was)
        wanted.update(variant=args.variant,
                      variant_sha256=sha256(demo_caltech_sparse))
    return wanted


def prepare_out_dir(out_dir: str, wanted: dict) -> None:
    """Keep ``out_dir``'s videos only if they were written as ``wanted``."""
    path = osp.join(out_dir, MANIFEST)
    found = None
    if osp.isfile(path):
        with open(path) as f:
            found = json.load(f)
    if found == wanted:
        return
    stale = [osp.join(out_dir, d) for d in TRAIN_SETS + TEST_SETS +
             ('annotations', )]
    stale = [d for d in stale if osp.isdir(d)]
    if stale:
        why = 'with other arguments or by another renderer' if found \
            else 'without a manifest'
        print(f'{out_dir} was written {why}: writing it again')
        for d in stale:
            shutil.rmtree(d)
        if found is not None:
            os.remove(path)


def main() -> None:
    args = parse_args()
    wanted = manifest(args)
    prepare_out_dir(args.out_dir, wanted)
    # each video is written atomically: an interrupted run resumes where it was
    atomic_write_bytes(osp.join(args.out_dir, MANIFEST),
                       json.dumps(wanted, indent=2).encode())
    jobs = []
    for set_index, set_name in enumerate(TRAIN_SETS + TEST_SETS):
        train = set_name in TRAIN_SETS
        frames = args.train_frames if train else args.test_frames
        for v in range(args.videos if train else args.test_videos):
            seed = args.seed * 1000 + set_index * 37 + v
            jobs.append((osp.join(args.out_dir, set_name, f'V{v:03d}.seq'),
                         osp.join(args.out_dir, 'annotations', set_name,
                                  f'V{v:03d}.vbb'), frames, seed,
                         args.variant))
    progress = dict(total=len(jobs), desc='demo videos', unit='video')
    if args.workers > 1:
        with Pool(args.workers) as pool:
            objects = sum(tqdm(pool.imap_unordered(render, jobs), **progress))
    else:
        objects = sum(tqdm(map(render, jobs), **progress))
    print(f'wrote {len(jobs)} videos to {args.out_dir} ({objects} annotated '
          'objects in the new ones)')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
