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
                seed=0)
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
