"""Caltech Pedestrian raw files -> JPEG frames + COCO-style JSON.

Layout read (as downloaded)::

    RAW/set00/V000.seq ...                  videos
    RAW/annotations/set00/V000.vbb ...      annotations (or --ann-dir)

Layout written::

    OUT/images/set06_V000_I00029.jpg ...
    OUT/annotations/{split}.json

Benchmark sampling: test = set06-set10, frames ``skip-1 : skip : n-1`` (0-based)
with skip 30 (4024 images); train = set00-set05 with skip 30 ("1x") or 3
("10x"). Each annotation keeps the raw label, box, visible box, occlusion,
height and visibility ratio; ``iscrowd`` (COCO's ignore-region marker) flags
what the Reasonable training rule (person, h >= 50, visibility >= 0.65) does
not take as a positive. 'person-fa'
objects are dropped, as the benchmark drops them.
"""
import glob
import json
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmmimic.utils.atomic import atomic_write_bytes

from .caltech_io import SeqReader, read_vbb

TRAIN_SETS = tuple(f'set{i:02d}' for i in range(6))
TEST_SETS = tuple(f'set{i:02d}' for i in range(6, 11))
DROPPED_LABELS = ('person-fa', )


@dataclass
class PositiveRule:
    """Which objects are positives when training; the rest become ignore."""
    labels: Tuple[str, ...] = ('person', )
    min_height: float = 50.0
    min_visibility: float = 0.65

    def is_positive(self, label: str, height: float, visibility: float) -> bool:
        return (label in self.labels and height >= self.min_height
                and visibility >= self.min_visibility)


def visibility_ratio(pos: Sequence[float], posv: Sequence[float],
                     occluded: bool) -> float:
    """Visible fraction as the benchmark computes it: 1 if not occluded, 0 if
    occluded without a visible box, else area(visible) / area(box)."""
    if not occluded:
        return 1.0
    if not np.any(np.asarray(posv)):
        return 0.0
    area = pos[2] * pos[3]
    return float(posv[2] * posv[3] / area) if area > 0 else 0.0


def frame_indices(num_frames: int, skip: int) -> List[int]:
    """0-based frames ``skip-1, 2*skip-1, ... <= num_frames-1``."""
    return list(range(skip - 1, num_frames, skip))


def image_name(set_name: str, video: str, frame: int) -> str:
    return f'{set_name}_{video}_I{frame:05d}.jpg'


def atomic_write_json(path: str, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj).encode('utf-8'))


def find_videos(raw_dir: str, sets: Sequence[str]) -> List[Tuple[str, str, str]]:
    """``(set, video, seq path)`` of every ``RAW/setXX/VYYY.seq`` in ``sets``."""
    videos = []
    for set_name in sets:
        for path in sorted(glob.glob(osp.join(raw_dir, set_name, 'V*.seq'))):
            videos.append((set_name, osp.splitext(osp.basename(path))[0], path))
    return videos


def read_bbgt_txt(path: str) -> List[dict]:
    """Objects of one frame from a bbGt text file (e.g. the new annotations):
    ``% bbGt version=3`` then ``lbl x y w h occ xv yv wv hv ign ang`` rows."""
    objects = []
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('%'):
                continue
            parts = line.split()
            if len(parts) < 5:
                raise ValueError(f'{path}:{line_no}: expected "label x y w h '
                                 f'occ xv yv wv hv ..." but got {line!r}')
            values = [float(v) for v in parts[1:]]
            values += [0.0] * (9 - len(values))
            objects.append(dict(label=parts[0], pos=values[0:4],
                                occluded=bool(values[4]), posv=values[5:9]))
    return objects


def video_objects(raw_dir: str, ann_dir: Optional[str], set_name: str,
                  video: str, frames: Sequence[int],
                  new_annotations: Optional[str]) -> Dict[int, List[dict]]:
    """Objects of the given frames from the ``.vbb`` or the bbGt text files."""
    if new_annotations is not None:
        out = {}
        for frame in frames:
            stem = image_name(set_name, video, frame)[:-4]
            candidates = [osp.join(new_annotations, f'{stem}.txt'),
                          osp.join(new_annotations, f'{stem}.jpg.txt')]
            found = [c for c in candidates if osp.isfile(c)]
            if not found:
                raise FileNotFoundError(
                    f'--new-annotations {new_annotations}: no {stem}.txt or '
                    f'{stem}.jpg.txt for frame {frame} of {set_name}/{video}')
            out[frame] = read_bbgt_txt(found[0])
        return out
    vbb_path = osp.join(ann_dir or osp.join(raw_dir, 'annotations'), set_name,
                        f'{video}.vbb')
    if not osp.isfile(vbb_path):
        raise FileNotFoundError(
            f'{vbb_path}: annotation of {set_name}/{video}.seq not found; '
            'put annotations/setXX/VYYY.vbb beside the videos or pass --ann-dir')
    vbb = read_vbb(vbb_path)
    out = {}
    for frame in frames:
        if frame >= vbb.num_frames:
            raise ValueError(f'{vbb_path}: {vbb.num_frames} frames, but the '
                             f'video has frame {frame}')
        out[frame] = [
            dict(label=o.label, pos=o.pos.tolist(), occluded=o.occl,
                 posv=o.posv.tolist()) for o in vbb.frames[frame]
        ]
    return out


def convert_video(raw_dir: str, out_dir: str, set_name: str, video: str,
                  seq_path: str, skip: int, ann_dir: Optional[str] = None,
                  new_annotations: Optional[str] = None,
                  rule: Optional[PositiveRule] = None
                  ) -> Tuple[List[dict], List[list]]:
    """Write one video's sampled frames; return their image records and
    per-image annotation records (without ids). Existing frames are kept."""
    rule = rule or PositiveRule()
    reader = SeqReader(seq_path)
    frames = frame_indices(len(reader), skip)
    objects = video_objects(raw_dir, ann_dir, set_name, video, frames,
                            new_annotations)
    image_dir = osp.join(out_dir, 'images')
    images, annotations = [], []
    for frame in frames:
        name = image_name(set_name, video, frame)
        path = osp.join(image_dir, name)
        if not osp.isfile(path):
            atomic_write_bytes(path, reader.frame(frame))
        images.append(dict(file_name=name, width=reader.header.width,
                           height=reader.header.height, set=set_name,
                           video=video, frame=frame))
        records = []
        for obj in objects[frame]:
            if obj['label'] in DROPPED_LABELS:
                continue
            x, y, w, h = obj['pos']
            vis = visibility_ratio(obj['pos'], obj['posv'], obj['occluded'])
            positive = rule.is_positive(obj['label'], h, vis)
            records.append(dict(
                category_id=1, bbox=[x, y, w, h], area=w * h,
                label=obj['label'], vbbox=list(obj['posv']),
                occluded=int(obj['occluded']), height=h,
                visibility=vis, iscrowd=int(not positive)))
        annotations.append(records)
    return images, annotations


def split_file_name(split: str, skip: int) -> str:
    """``test.json``, ``train.json`` (skip 30), ``train-10x.json`` (skip 3)."""
    if skip == 30:
        return f'{split}.json'
    if 30 % skip == 0:
        return f'{split}-{30 // skip}x.json'
    return f'{split}-skip{skip}.json'


def build_coco(images: List[dict], annotations: List[List[dict]]) -> dict:
    """Number images and annotations; one category ``person``."""
    coco_images, coco_anns = [], []
    for image_id, (image, records) in enumerate(zip(images, annotations)):
        coco_images.append(dict(image, id=image_id))
        for record in records:
            coco_anns.append(dict(record, id=len(coco_anns) + 1,
                                  image_id=image_id))
    return dict(images=coco_images, annotations=coco_anns,
                categories=[dict(id=1, name='person')])

