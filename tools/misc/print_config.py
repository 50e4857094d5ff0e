"""Print a config after inheritance and --cfg-options, as the runner sees it.

    python tools/misc/print_config.py CONFIG [--cfg-options k=v ...] [--save-path F]
    mim run mmmimic print_config CONFIG
"""
import argparse
import os.path as osp

import mmengine
from mmengine.config import DictAction

import mmmimic  # noqa: F401
from mmmimic.utils import atomic_path
from mmmimic.utils.atomic import check_destination
from mmmimic.utils.config_file import read_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--save-path',
        help='also write the config here (.py, .json, .yaml or .yml)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = read_config(args.config, cfg_options=args.cfg_options, check=False)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save_path is not None:
        # never over the config or a file it loads (its _base_ chain)
        check_destination(args.save_path, [args.config], overwrite=True,
                          suffix=('.py', '.json', '.yaml', '.yml'),
                          flag='--save-path', cfg=cfg)
        suffix = osp.splitext(args.save_path)[1].lower()
        with atomic_path(args.save_path) as tmp:
            if suffix == '.py':
                with open(tmp, 'w', encoding='utf-8') as f:
                    f.write(cfg.pretty_text)
            else:   # (the format from the suffix in any case: .YAML too)
                mmengine.dump(cfg.to_dict(), tmp,
                              file_format=suffix[1:].replace('yml', 'yaml'))
        print(f'Saved to {args.save_path}')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
