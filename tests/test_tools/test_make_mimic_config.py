"""make_mimic_config's adapter choice and its advice when none fits (no
model is built: seconds)."""
import pytest

from ..conftest import tool_module


@pytest.fixture(scope='module')
def adapter_for():
    return tool_module('misc', 'make_mimic_config.py').adapter_for


def test_adapters_that_fit(adapter_for):
    assert adapter_for([(64, 16.0)], [(64, 16.0)]) is None
    assert adapter_for([(32, 32.0)], [(64, 16.0)]) == dict(
        type='mmmimic.MimicAdapter', in_channels=32, out_channels=64,
        scale_factor=2)


def test_a_coarser_teacher_is_not_told_to_refine_the_student(adapter_for):
    """stride-32 teacher, stride-16 student: the student is the finer one."""
    with pytest.raises(ValueError) as info:
        adapter_for([(32, 16.0)], [(64, 32.0)])
    message = str(info.value)
    assert 'finer map' not in message
    assert 'student\'s maps are finer than the teacher\'s (stride 16 vs 32' \
        in message
    assert 'coarser map or a smaller input' in message
    assert 'input_scale 0.5 times' in message and 'model.mimic_levels' in message


def test_a_coarser_student_is_told_to_refine_its_map(adapter_for):
    with pytest.raises(ValueError, match=r'stride is 1.5x the teacher\'s '
                       r'\(stride 24 vs 16.*finer map or a larger input'):
        adapter_for([(32, 24.0)], [(64, 16.0)])


def test_levels_whose_ratios_differ_get_the_distillers_stride_check(
        adapter_for):
    """The tool derives the adapter from the first pair and then runs the one
    stride check of the distiller (levels.match_levels) on every pair."""
    with pytest.raises(ValueError, match=r'student level 1 has stride 32 on '
                       r'its input.*teacher level 1 has stride 16: the maps '
                       'cannot be aligned'):
        adapter_for([(16, 8.0), (32, 32.0)], [(32, 8.0), (64, 16.0)])
