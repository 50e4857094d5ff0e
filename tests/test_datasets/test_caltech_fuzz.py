"""Seeded fuzzing of the Caltech readers and converter.

A few hundred corruptions of a small clean ``.seq`` (and of its ``.vbb``):
truncations, flipped bits in the header, in the chain of size words that
indexes the frames, inside the JPEG data, and wrong frame counts or image
sizes in the header. Each one must either convert to exactly what the clean
source gives (same annotation file, same decoded images) or stop with
``CaltechFormatError``, never another exception, and never leave an
annotation file or a temporary file behind.

One kind cannot be held to that: a flipped bit inside a frame's
entropy-coded JPEG data that the decoder still accepts. Neither ``.seq`` nor
JPEG carries a checksum, so such a frame is indistinguishable from a real
picture; the converter copies it as the source holds it (and the test checks
exactly that), and catches only the flips that make the frame undecodable,
change its size or break its markers. The share caught is printed.
"""
import json
import os
import os.path as osp
import random
import shutil
import struct

import cv2
import numpy as np
import pytest

from mmmimic.datasets.caltech.convert import convert_split
from mmmimic.datasets.caltech.io import (
    SEQ_HEADER_SIZE,
    CaltechFormatError,
    SeqReader,
    VbbAnnotation,
    VbbObject,
    write_seq,
    write_vbb,
)

NUM_FRAMES = 12
SKIP = 3                        # frames 2, 5, 8, 11
WIDTH, HEIGHT = 64, 48
SEQ = osp.join('set06', 'V000.seq')
VBB = osp.join('annotations', 'set06', 'V000.vbb')
JSON = osp.join('annotations', 'test-10x.json')


def clean_sources():
    """(seq bytes, vbb bytes, JPEG frames) of a small clean video."""
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(NUM_FRAMES):
        img = cv2.GaussianBlur(
            rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8), (5, 5), 0)
        frames.append(cv2.imencode('.jpg', img)[1].tobytes())
    objects = [[VbbObject(1, 'person', np.array([5., 2., 20., 40.]),
                          np.zeros(4), False)] if i % 2 else []
               for i in range(NUM_FRAMES)]
    tmp = osp.join(os.environ.get('TMPDIR', '/tmp'),
                   f'mmmimic-fuzz-{os.getpid()}')
    os.makedirs(tmp, exist_ok=True)
    try:
        write_seq(osp.join(tmp, 'v.seq'), frames, WIDTH, HEIGHT)
        write_vbb(osp.join(tmp, 'v.vbb'),
                  VbbAnnotation(NUM_FRAMES, ['person'], objects))
        with open(osp.join(tmp, 'v.seq'), 'rb') as f:
            seq = f.read()
        with open(osp.join(tmp, 'v.vbb'), 'rb') as f:
            vbb = f.read()
    finally:
        shutil.rmtree(tmp)
    return seq, vbb, frames


def frame_layout(seq: bytes):
    """(offset of the size word, size) of every frame of a clean file."""
    out, pos = [], SEQ_HEADER_SIZE
    for _ in range(NUM_FRAMES):
        size, = struct.unpack_from('<I', seq, pos)
        out.append((pos, size))
        pos += size + 8 + 8     # timestamp, write_seq's padding
    return out


def flip(data: bytes, index: int, rng: random.Random) -> bytes:
    out = bytearray(data)
    out[index] ^= 1 << rng.randrange(8)
    return bytes(out)


def set_word(data: bytes, offset: int, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into('<I', out, offset, value)
    return bytes(out)


def corruptions(seq: bytes, vbb: bytes, seed: int = 0):
    """(kind, seq bytes, vbb bytes) of every corruption tried."""
    rng = random.Random(seed)
    layout = frame_layout(seq)
    cases = []
    for _ in range(60):
        cases.append(('seq truncated', seq[:rng.randrange(len(seq))], vbb))
    for _ in range(60):
        cases.append(('seq header bit',
                      flip(seq, rng.randrange(SEQ_HEADER_SIZE), rng), vbb))
    for _ in range(50):
        pos, _ = rng.choice(layout)
        cases.append(('size word bit', flip(seq, pos + rng.randrange(4), rng),
                      vbb))
    for _ in range(60):
        pos, size = rng.choice(layout)
        cases.append(('JPEG data bit',
                      flip(seq, pos + 4 + rng.randrange(size - 4), rng), vbb))
    for count in (0, 1, NUM_FRAMES - 2, NUM_FRAMES - 1, NUM_FRAMES + 1,
                  NUM_FRAMES + 5, 2**31, 2**32 - 1):
        cases.append(('frame count', set_word(seq, 548 + 24, count), vbb))
    for width, height in ((WIDTH * 2, HEIGHT), (WIDTH, HEIGHT - 1), (0, 0),
                          (HEIGHT, WIDTH)):
        case = set_word(set_word(seq, 548, width), 552, height)
        cases.append(('image size', case, vbb))
    for _ in range(20):
        cases.append(('vbb truncated', seq, vbb[:rng.randrange(len(vbb))]))
    for _ in range(30):
        cases.append(('vbb bit', seq, flip(vbb, rng.randrange(len(vbb)), rng)))
    return cases


def convert(root: str, seq: bytes, vbb: bytes):
    """Write the sources under ``root/raw``, convert the test split into
    ``root/out``; (annotation dict, {name: decoded image}) or the error."""
    raw, out = osp.join(root, 'raw'), osp.join(root, 'out')
    for path, data in ((SEQ, seq), (VBB, vbb)):
        os.makedirs(osp.dirname(osp.join(raw, path)), exist_ok=True)
        with open(osp.join(raw, path), 'wb') as f:
            f.write(data)
    written = convert_split(raw, out, 'test', SKIP, progress=False)
    with open(written) as f:
        coco = json.load(f)
    images = {}
    for image in coco['images']:
        with open(osp.join(out, 'images', image['file_name']), 'rb') as f:
            images[image['file_name']] = f.read()
    return coco, images


def leftovers(out: str):
    found = []
    for folder, _, names in os.walk(out):
        found += [osp.join(folder, n) for n in names if n.startswith('.tmp')]
    return found


def decoded(images):
    return {name: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            for name, data in images.items()}


def test_fuzzed_sources_convert_cleanly_or_raise_caltech_format_error(
        tmp_path):
    seq, vbb, _ = clean_sources()
    clean_coco, clean_images = convert(str(tmp_path / 'clean'), seq, vbb)
    assert len(clean_images) == len(range(SKIP - 1, NUM_FRAMES, SKIP))
    clean_pixels = decoded(clean_images)
    cases = corruptions(seq, vbb)
    assert len(cases) >= 250
    outcomes = {}
    for i, (kind, bad_seq, bad_vbb) in enumerate(cases):
        root = str(tmp_path / f'case{i}')
        try:
            coco, images = convert(root, bad_seq, bad_vbb)
        except CaltechFormatError as exc:
            assert 'V000.' in str(exc), (kind, str(exc))
            assert not osp.exists(osp.join(root, 'out', JSON)), kind
            outcome = 'CaltechFormatError'
        except Exception as exc:  # noqa: BLE001 (the point of the test)
            pytest.fail(f'case {i} ({kind}): {type(exc).__name__}: {exc}')
        else:
            assert coco == clean_coco, (i, kind)
            if kind == 'JPEG data bit':
                # undetectable flips are copied exactly as the source holds
                # them, frame for frame
                reader = SeqReader(osp.join(root, 'raw', SEQ))
                for image in coco['images']:
                    assert images[image['file_name']] == \
                        reader.frame(image['frame']), (i, kind)
                outcome = 'same' if decoded(images).keys() == \
                    clean_pixels.keys() and all(
                        np.array_equal(decoded(images)[n], clean_pixels[n])
                        for n in clean_pixels) else 'copied as is'
            else:
                pixels = decoded(images)
                assert all(np.array_equal(pixels[n], clean_pixels[n])
                           for n in clean_pixels), (i, kind)
                outcome = 'same'
        assert not leftovers(root), (i, kind, leftovers(root))
        counts = outcomes.setdefault(kind, {})
        counts[outcome] = counts.get(outcome, 0) + 1
        shutil.rmtree(root)
    print('\nfuzzing outcomes:', json.dumps(outcomes, indent=1))
    # the structural corruptions of the .seq are all caught or harmless; most
    # of each kind must be caught (a flip in an unused header byte is harmless)
    for kind in ('seq truncated', 'size word bit', 'frame count',
                 'image size', 'vbb truncated'):
        assert outcomes[kind].get('CaltechFormatError', 0) > 0, kind
