"""read_config: every way a named config cannot be read is one
ConfigFileError naming the argument, the file and what to do."""
import pytest

from mmmimic.utils.config_file import ConfigFileError, read_config


def test_a_good_config_is_read(tmp_path):
    base = tmp_path / 'base.py'
    base.write_text('a = 1\nmodel = dict(type="X")\n')
    child = tmp_path / 'child.py'
    child.write_text("_base_ = './base.py'\na = 2\n")
    cfg = read_config(str(child))
    assert cfg.a == 2 and cfg.model.type == 'X'


@pytest.mark.parametrize('name, text, message', [
    ('missing.py', None, r'CONFIG .*missing.py: no such file; give a config '
     r'file'),
    ('folder', 'DIR', r'CONFIG .*folder: is a folder'),
    ('weights.pth', 'x', r'CONFIG .*weights.pth: not a config file \(MMEngine '
     r'reads .py, .json, .yaml, .yml\); is the order of the arguments right'),
    ('broken.py', 'model = dict(type=\n', r'CONFIG .*broken.py: Python syntax '
     r'error in .*broken.py, line 1'),
    ('orphan.py', "_base_ = './gone.py'\n", r'CONFIG .*orphan.py: a file it '
     r'inherits is missing \(.*gone.py\); check its _base_ paths'),
    ('raises.py', 'x = undefined_name\n', r'CONFIG .*raises.py: cannot be '
     r'read \(.*undefined_name'),
])
def test_unreadable_configs(tmp_path, name, text, message):
    path = tmp_path / name
    if text == 'DIR':
        path.mkdir()
    elif text is not None:
        path.write_text(text)
    with pytest.raises(ConfigFileError, match=message):
        read_config(str(path))


def test_options_are_merged_and_text_for_a_number_refused(tmp_path):
    config = tmp_path / 'c.py'
    config.write_text('train_cfg = dict(max_iters=500)\nname = "a"\n')
    cfg = read_config(str(config), cfg_options={'train_cfg.max_iters': 7,
                                                'name': 'b'})
    assert cfg.train_cfg.max_iters == 7 and cfg.name == 'b'
    with pytest.raises(ConfigFileError,
                       match=r'^--cfg-options train_cfg.max_iters=abc: the '
                       r'config holds a number there \(500\); give a number$'):
        read_config(str(config), cfg_options={'train_cfg.max_iters': 'abc'})


GOOD = '''model = dict(data_preprocessor=dict(pad_size_divisor=32))
train_dataloader = dict(batch_size=2, num_workers=2)
test_dataloader = dict(batch_size=1, num_workers=0)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9,
                                    weight_decay=0.0001))
'''


@pytest.mark.parametrize('key, value, says', [
    ('model.data_preprocessor.pad_size_divisor', 0, 'a whole number >= 1'),
    ('model.data_preprocessor.pad_size_divisor', 2.5, 'a whole number >= 1'),
    ('train_dataloader.batch_size', 0, 'a whole number >= 1'),
    ('test_dataloader.batch_size', True, 'a whole number >= 1'),
    ('train_dataloader.num_workers', -1, 'a whole number >= 0'),
    ('optim_wrapper.optimizer.lr', float('nan'), 'a finite number > 0'),
    ('optim_wrapper.optimizer.lr', 0, 'a finite number > 0'),
    ('optim_wrapper.optimizer.lr', float('inf'), 'a finite number > 0'),
    ('optim_wrapper.optimizer.momentum', -0.1, 'a finite number >= 0'),
    ('model.mimic_loss.loss_weight', float('inf'), 'a finite number >= 0'),
    ('model.rpn_head.loss_cls.loss_weight', -1, 'a finite number >= 0'),
    ('model.logit_mimic.reg_weight', float('nan'), 'a finite number >= 0'),
    ('model.stage2_mimic.cls_weight', '1', 'a finite number >= 0'),
    ('model.stage2_mimic.temperature', 0, 'a finite number > 0'),
    ('optim_wrapper.optimizer.weight_decay', float('nan'),
     'a finite number >= 0'),
])
def test_values_a_run_divides_or_counts_by_are_checked(tmp_path, key, value,
                                                       says):
    """By class: one rule table (VALUE_RULES) for the numbers a run divides
    or counts by, wherever they sit under their section."""
    config = tmp_path / 'c.py'
    config.write_text(GOOD)
    read_config(str(config))
    with pytest.raises(ConfigFileError, match=f'^{key}={value!r}: must be '
                       f'{says} \\(e.g. --cfg-options {key}='):
        read_config(str(config), cfg_options={key: value})
    # nothing checked where the rules do not apply
    read_config(str(config), cfg_options={'model.lr': -1}, check=True)
    read_config(str(config), cfg_options={key: value}, check=False)


def test_an_option_that_would_change_nothing_is_refused(tmp_path):
    """A misspelled top-level key would be added to the config and read by
    nothing; keys of the config and keys the runner reads are accepted."""
    config = tmp_path / 'c.py'
    config.write_text(GOOD + 'train_cfg = dict(max_iters=5)\n')
    with pytest.raises(ConfigFileError, match=r"^--cfg-options "
                       r"trian_cfg.max_iters: the config has no 'trian_cfg' "
                       r".*change nothing; did you mean train_cfg\?$"):
        read_config(str(config), cfg_options={'trian_cfg.max_iters': 7})
    with pytest.raises(ConfigFileError, match="no 'zzz'.*; its keys: "):
        read_config(str(config), cfg_options={'zzz': 1})
    cfg = read_config(str(config), cfg_options={
        'train_cfg.max_iters': 7, 'randomness.seed': 1, 'work_dir': 'w',
        'load_from': None, 'custom_imports.imports': ['os']})
    assert cfg.randomness.seed == 1 and cfg.train_cfg.max_iters == 7
