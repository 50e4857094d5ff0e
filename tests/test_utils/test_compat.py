"""Other libraries' private members: all reached through mmmimic.utils.compat,
each present and as expected on the installed versions (this test runs on
every supported stack), each loud when a release drops it."""
import dataclasses
import os.path as osp
import re
import subprocess
from types import SimpleNamespace

import pytest
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor

from mmmimic.utils import compat

from ..conftest import REPO_ROOT


@pytest.mark.parametrize('member', compat.PRIVATE_MEMBERS,
                         ids=lambda m: m.qualname)
def test_every_private_member_mmmimic_uses_is_there(member):
    assert compat.check_member(member) is None


def test_a_release_that_drops_or_changes_one_is_named_with_its_version():
    import mmdet
    gone = dataclasses.replace(compat.PRIVATE_MEMBERS[2], name='_bbox_fwd')
    problem = compat.check_member(gone)
    assert problem.startswith(
        'mmdet.models.roi_heads.StandardRoIHead._bbox_fwd is gone in mmdet '
        f'{mmdet.__version__}')
    changed = dataclasses.replace(compat.PRIVATE_MEMBERS[2],
                                  params=('x', 'rois', 'sampling_results'))
    assert "no longer takes ['sampling_results']" in \
        compat.check_member(changed)
    unset = dataclasses.replace(compat.PRIVATE_MEMBERS[0],
                                name='_normalise_now')
    assert 'is no longer set by __init__ in mmengine' in \
        compat.check_member(unset)
    # at run time: an accessor whose member is gone raises, naming it
    with pytest.raises(compat.PrivateMemberError,
                       match=r'mmengine.runner.Runner._resume is gone in '
                       r'mmengine [\d.]+; mmmimic uses it for whether the run'):
        compat.runner_is_resuming(SimpleNamespace())


def test_the_accessors_read_what_the_libraries_hold():
    pre = DetDataPreprocessor(mean=[1., 2., 3.], std=[4., 5., 6.],
                              bgr_to_rgb=True)
    norm = compat.preprocessor_normalisation(pre)
    assert norm.enabled and norm.swap_channels
    assert torch.equal(norm.mean.flatten(), torch.tensor([1., 2., 3.]))
    assert compat.preprocessor_normalisation(torch.nn.Identity()) is None
    assert not compat.preprocessor_normalisation(
        DetDataPreprocessor()).enabled
    assert compat.runner_is_resuming(SimpleNamespace(_resume=True))
    runner = SimpleNamespace(_has_loaded=False)
    compat.mark_checkpoint_loaded(runner)
    assert runner._has_loaded
    assert compat.parse_cfg_option_value('[1,(2,3)]') == [1, (2, 3)]
    assert set(compat.torch_rebuild_globals()) == {
        'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter'}
    assert compat.numpy_reconstruct().__name__ == '_reconstruct'


def test_a_teacher_carried_outside_the_state_dict_follows_dtype_moves():
    class Holder(compat.CarriesUnregisteredModules, torch.nn.Module):
        unregistered_modules = ('passenger', )

        def __init__(self):
            super().__init__()
            self.own = torch.nn.Linear(2, 2)
            object.__setattr__(self, 'passenger', torch.nn.Linear(2, 2))

    holder = Holder().double()
    assert holder.own.weight.dtype == holder.passenger.weight.dtype == \
        torch.float64
    assert 'passenger.weight' not in holder.state_dict()


def test_only_the_compat_module_reaches_into_other_libraries_privates():
    """The check: `grep -rn "\\._[a-z]" mmmimic/` finds other
    libraries' private members only in compat.py (our own ``self._x`` and
    ``cls._x`` aside)."""
    out = subprocess.run(['grep', '-rn', r'\._[a-z]', 'mmmimic/',
                          '--include=*.py'], cwd=REPO_ROOT,
                         capture_output=True, text=True).stdout
    hits = [line for line in out.splitlines()
            if not re.search(r'\b(self|cls)\._', line)
            and not line.startswith(osp.join('mmmimic', 'utils',
                                             'compat.py'))]
    assert hits == []


def test_external_config_lookups_are_read_once_and_behave_as_before(
        tmp_path):
    import mmengine.config.utils as config_utils
    from mmengine.config import Config
    from mmengine.utils import get_installed_path

    import mmmimic  # noqa: F401  (applies cache_external_config_index)
    lookup = config_utils._get_cfg_metainfo
    assert lookup.mmmimic_cached
    package = get_installed_path('mmdet')
    name = 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'   # a metafile entry
    entry = lookup(package, name)
    assert entry['Config'].endswith(name)
    entry['Config'] = 'changed by a caller'
    assert lookup(package, name)['Config'].endswith(name)
    # a name no metafile lists: the ValueError MMEngine falls back on, each
    # time
    for _ in range(2):
        with pytest.raises(ValueError, match='Expected configs'):
            lookup(package, 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco')
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = 'mmdet::{name}'\n")
    first, second = Config.fromfile(str(child)), Config.fromfile(str(child))
    assert first.model.type == 'FasterRCNN'
    assert first.to_dict() == second.to_dict()
