"""tools/dataset_converters/make_demo_caltech.py keeps written videos only when
they were written with the same arguments by the same renderer."""
import importlib.util
import json
import os.path as osp
from argparse import Namespace

from ..conftest import REPO_ROOT

TOOL = osp.join(REPO_ROOT, 'tools', 'dataset_converters',
                'make_demo_caltech.py')
spec = importlib.util.spec_from_file_location('make_demo_caltech', TOOL)
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


def fake_raw(root, manifest=None):
    """A raw folder with one video and, optionally, a manifest."""
    (root / 'set06').mkdir(parents=True)
    (root / 'set06' / 'V000.seq').write_bytes(b'old video')
    (root / 'annotations' / 'set06').mkdir(parents=True)
    (root / 'annotations' / 'set06' / 'V000.vbb').write_bytes(b'old vbb')
    (root / 'notes.txt').write_text('not ours')
    if manifest is not None:
        (root / tool.MANIFEST).write_text(json.dumps(manifest))


def args(**kw):
    base = dict(train_frames=100, test_frames=100, videos=3, test_videos=10,
                seed=0, variant='dense')
    base.update(kw)
    return Namespace(**base)


def test_manifest_names_arguments_and_renderer():
    a, b = tool.manifest(args()), tool.manifest(args(test_frames=200))
    assert a != b and a['renderer_sha256'] == b['renderer_sha256']
    assert len(a['renderer_sha256']) == 64


def test_same_manifest_keeps_videos(tmp_path):
    wanted = tool.manifest(args())
    fake_raw(tmp_path, wanted)
    tool.prepare_out_dir(str(tmp_path), wanted)
    assert (tmp_path / 'set06' / 'V000.seq').read_bytes() == b'old video'


def test_other_or_missing_manifest_writes_again(tmp_path):
    for i, manifest in enumerate([tool.manifest(args(seed=1)), None,
                                  dict(tool.manifest(args()),
                                       renderer_sha256='0' * 64)]):
        root = tmp_path / str(i)
        fake_raw(root, manifest)
        tool.prepare_out_dir(str(root), tool.manifest(args()))
        assert not (root / 'set06').exists()
        assert not (root / 'annotations').exists()
        assert not (root / tool.MANIFEST).exists()
        assert (root / 'notes.txt').read_text() == 'not ours'


def test_the_dense_manifest_is_unchanged_and_the_sparse_one_says_its_variant():
    dense, sparse = tool.manifest(args()), tool.manifest(args(variant='sparse'))
    # the dense data's fingerprint (and so every run key of the demo's
    # results.json) does not change with the variant option
    assert set(dense) == {'train_frames', 'test_frames', 'videos',
                          'test_videos', 'seed', 'renderer_sha256'}
    assert sparse == dict(dense, variant='sparse',
                          variant_sha256=sparse['variant_sha256'])
    assert len(sparse['variant_sha256']) == 64


def frame_counts(video, frames):
    """Per frame: persons, and the persons' heights."""
    counts, heights = [], []
    for i in range(frames):
        _, objects = video.render(i)
        persons = [o for o in objects if o.label == 'person']
        counts.append(len(persons))
        heights += [float(o.pos[3]) for o in persons]
    return counts, heights


def test_the_sparse_variant_is_sparser_smaller_and_deterministic(tmp_path):
    import numpy as np
    from demo_caltech_render import DemoVideo
    from demo_caltech_sparse import SparseDemoVideo, write_sparse_video
    dense, sparse = [], []
    dense_h, sparse_h = [], []
    for seed in range(4):
        c, h = frame_counts(DemoVideo(seed, 40), 40)
        dense += c
        dense_h += h
        c, h = frame_counts(SparseDemoVideo(seed, 40), 40)
        sparse += c
        sparse_h += h
    assert np.mean(sparse) < np.mean(dense) / 3
    assert np.mean(np.array(sparse) == 0) > np.mean(np.array(dense) == 0)
    assert np.median(sparse_h) < np.median(dense_h)
    first = tmp_path / 'a'
    second = tmp_path / 'b'
    for root in (first, second):
        write_sparse_video(str(root / 'V000.seq'), str(root / 'V000.vbb'), 3,
                           12)
    assert (first / 'V000.seq').read_bytes() == \
        (second / 'V000.seq').read_bytes()
