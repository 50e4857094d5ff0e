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
import os
import os.path as osp
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

from mmmimic.utils.atomic import atomic_write_bytes

from .io import CaltechFormatError, SeqReader, read_vbb
from .positives import PositiveRule, visibility_ratio

TRAIN_SETS = tuple(f'set{i:02d}' for i in range(6))
TEST_SETS = tuple(f'set{i:02d}' for i in range(6, 11))
DROPPED_LABELS = ('person-fa', )


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
                  new_annotations: Optional[str],
                  num_frames: Optional[int] = None) -> Dict[int, List[dict]]:
    """Objects of the given frames from the ``.vbb`` (which must annotate the
    video's ``num_frames`` frames, when given) or the bbGt text files."""
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
    vbb_file = vbb_path(raw_dir, ann_dir, set_name, video)
    if not osp.isfile(vbb_file):
        raise FileNotFoundError(
            f'{vbb_file}: annotation of {set_name}/{video}.seq not found; '
            'put annotations/setXX/VYYY.vbb beside the videos or pass --ann-dir')
    vbb = read_vbb(vbb_file)
    if num_frames is not None and vbb.num_frames != num_frames:
        raise CaltechFormatError(
            f'{vbb_file}: annotates {vbb.num_frames} frames but '
            f'{set_name}/{video}.seq has {num_frames}: the annotation belongs '
            'to another video, or one of the two files is truncated')
    out = {}
    for frame in frames:
        out[frame] = [
            dict(label=o.label, pos=o.pos.tolist(), occluded=o.occl,
                 posv=o.posv.tolist()) for o in vbb.frames[frame]
        ]
    return out


def vbb_path(raw_dir: str, ann_dir: Optional[str], set_name: str,
             video: str) -> str:
    return osp.join(ann_dir or osp.join(raw_dir, 'annotations'), set_name,
                    f'{video}.vbb')


def source_key(path: str) -> List[int]:
    """What identifies a video's source for resuming: the ``.seq`` file's size
    and modification time (ns)."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


def convert_video(raw_dir: str, out_dir: str, set_name: str, video: str,
                  seq_path: str, skip: int, ann_dir: Optional[str] = None,
                  new_annotations: Optional[str] = None,
                  rule: Optional[PositiveRule] = None,
                  reuse: bool = False) -> Tuple[List[dict], List[list]]:
    """Write one video's sampled frames; return their image records and
    per-image annotation records (without ids).

    The whole ``.seq`` is checked first (:meth:`SeqReader.check`), and
    every frame written is decoded once and checked against the header. With
    ``reuse`` (the sources are those of the earlier run that wrote them)
    frames already written are kept; otherwise this video's earlier images
    are removed first, so none is stale.
    """
    rule = rule or PositiveRule()
    reader = SeqReader(seq_path)
    reader.check()
    frames = frame_indices(len(reader), skip)
    objects = video_objects(raw_dir, ann_dir, set_name, video, frames,
                            new_annotations, num_frames=len(reader))
    image_dir = osp.join(out_dir, 'images')
    prefix = image_name(set_name, video, 0)[:-len('00000.jpg')]
    if not reuse and osp.isdir(image_dir):
        for name in os.listdir(image_dir):
            if name.startswith(prefix):
                os.remove(osp.join(image_dir, name))
    images, annotations = [], []
    outside = []   # (frame, label, box) of boxes with no pixel in the image
    width, height = reader.header.width, reader.header.height
    for frame in frames:
        name = image_name(set_name, video, frame)
        path = osp.join(image_dir, name)
        if not osp.isfile(path):
            data = reader.frame(frame)
            reader.image(frame, data)
            atomic_write_bytes(path, data)
        images.append(dict(file_name=name, width=reader.header.width,
                           height=reader.header.height, set=set_name,
                           video=video, frame=frame))
        records = []
        for obj in objects[frame]:
            if obj['label'] in DROPPED_LABELS:
                continue
            x, y, w, h = obj['pos']
            if x + w <= 0 or y + h <= 0 or x >= width or y >= height:
                outside.append((frame, obj['label'], [x, y, w, h]))
                continue
            vis = visibility_ratio(obj['pos'], obj['posv'], obj['occluded'])
            positive = rule.is_positive(obj['label'], h, vis)
            records.append(dict(
                category_id=1, bbox=[x, y, w, h], area=w * h,
                label=obj['label'], vbbox=list(obj['posv']),
                occluded=int(obj['occluded']), height=h,
                visibility=vis, iscrowd=int(not positive)))
        annotations.append(records)
    if outside:
        frame, label, box = outside[0]
        print(f'{set_name}/{video}: {len(outside)} box(es) entirely outside '
              f'the {width}x{height} image left out, e.g. frame {frame} '
              f'{label} [x y w h] = {[round(v, 1) for v in box]}', flush=True)
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


MANIFEST = 'convert_manifest.json'


class _Serial:
    """Pool stand-in for one worker (no subprocesses)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def imap(fn, items):
        return map(fn, items)


def _convert_one(raw_dir, out_dir, skip, ann_dir, new_annotations, rule,
                 job):
    (set_name, video, path), reuse = job
    return convert_video(raw_dir, out_dir, set_name, video, path, skip,
                         ann_dir=ann_dir, new_annotations=new_annotations,
                         rule=rule, reuse=reuse)


def convert_split(raw_dir: str, out_dir: str, split: str, skip: int,
                  ann_dir: Optional[str] = None,
                  new_annotations: Optional[str] = None,
                  rule: Optional[PositiveRule] = None, workers: int = 1,
                  progress: bool = True) -> str:
    """Convert every video of ``split`` ('train': set00-05, 'test':
    set06-10) and write ``OUT/annotations/{split file}``; returns its path.

    Resumable: ``OUT/convert_manifest.json`` (written atomically after each
    video) records the size and mtime of each converted ``.seq``; the images
    of a video whose source is unchanged are kept, those of a changed or new
    one are written again. On any error no annotation file is written.
    """
    from multiprocessing import Pool

    from tqdm import tqdm
    sets = TRAIN_SETS if split == 'train' else TEST_SETS
    videos = find_videos(raw_dir, sets)
    if not videos:
        raise FileNotFoundError(
            f'{raw_dir}: no {sets[0]}/V*.seq ... {sets[-1]}/V*.seq for the '
            f'{split} split')
    os.makedirs(osp.join(out_dir, 'images'), exist_ok=True)
    manifest_path = osp.join(out_dir, MANIFEST)
    manifest = {}
    if osp.isfile(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    keys = {f'{s}/{v}': source_key(p) for s, v, p in videos}
    jobs = [(video, manifest.get(f'{video[0]}/{video[1]}') ==
             keys[f'{video[0]}/{video[1]}']) for video in videos]
    work = partial(_convert_one, raw_dir, out_dir, skip, ann_dir,
                   new_annotations, rule or PositiveRule())
    images, annotations = [], []
    with Pool(workers) if workers > 1 else _Serial() as pool:
        results = pool.imap(work, jobs)
        if progress:
            results = tqdm(results, total=len(videos),
                           desc=f'{split} videos', unit='video')
        for ((set_name, video, _), _), (video_images, video_anns) in zip(
                jobs, results):
            images += video_images
            annotations += video_anns
            manifest[f'{set_name}/{video}'] = keys[f'{set_name}/{video}']
            atomic_write_json(manifest_path, manifest)
    out = osp.join(out_dir, 'annotations', split_file_name(split, skip))
    atomic_write_json(out, build_coco(images, annotations))
    return out
