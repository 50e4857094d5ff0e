"""Print a config after inheritance and --cfg-options, as the runner sees it.

    python tools/misc/print_config.py CONFIG [--cfg-options k=v ...] [--save-path F]
    mim run mmmimic print_config CONFIG
"""
import argparse
import os
import os.path as osp
import tempfile

from mmengine.config import Config, DictAction

import mmmimic  # noqa: F401


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
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save_path is not None:
        if not args.save_path.endswith(('.py', '.json', '.yaml', '.yml')):
            raise ValueError(f'--save-path {args.save_path}: use a .py, .json '
                             'or .yaml file name')
        out_dir = osp.dirname(osp.abspath(args.save_path))
        os.makedirs(out_dir, exist_ok=True)
        suffix = osp.splitext(args.save_path)[1]
        with tempfile.NamedTemporaryFile('w', dir=out_dir, suffix=suffix,
                                         delete=False) as tmp:
            cfg.dump(tmp.name)
        os.replace(tmp.name, args.save_path)
        print(f'Saved to {args.save_path}')


if __name__ == '__main__':
    main()
