"""Print a config after inheritance and --cfg-options, as the runner sees it.

    python tools/misc/print_config.py CONFIG [--cfg-options k=v ...] [--save-path F]
    mim run mmmimic print_config CONFIG
"""
import argparse

from mmengine.config import DictAction

import mmmimic  # noqa: F401
from mmmimic.utils import atomic_path
from mmmimic.utils.atomic import check_destination
from mmmimic.utils.config_file import ConfigFileError, read_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--save-path', help='also write the config here (.py)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        cfg = read_config(args.config, check=False)
    except ConfigFileError as err:
        raise SystemExit(str(err)) from None
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save_path is not None:
        if not args.save_path.endswith(('.py', '.json', '.yaml', '.yml')):
            raise ValueError(f'--save-path {args.save_path}: use a .py, .json '
                             'or .yaml file name')
        # never over the config or a file it loads (its _base_ chain)
        check_destination(args.save_path, [args.config], overwrite=True,
                          flag='--save-path')
        with atomic_path(args.save_path) as tmp:
            cfg.dump(tmp)
        print(f'Saved to {args.save_path}')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
