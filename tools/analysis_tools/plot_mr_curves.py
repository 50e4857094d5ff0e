"""Several runs' MR-FPPI curves in one benchmark-style figure.

    python tools/analysis_tools/plot_mr_curves.py ANN_FILE RESULT.pkl [RESULT.pkl ...] \
        [--labels A B ...] [--setup Reasonable] --out curves.png

Each RESULT is the prediction file ``tools/test.py CONFIG CKPT --out RESULT.pkl``
writes (read as data only: a pickle that asks for code is refused); ANN_FILE
the Caltech test annotations (``data/caltech/annotations/test.json``). The
figure is log-log miss rate against false positives per image with each run's
log-average miss rate
(MR-2) in the legend, as in Dollár's benchmark; the table is printed too.
"""
import argparse
import os.path as osp

import mmmimic  # noqa: F401
from mmmimic.evaluation import evaluate_predictions, load_predictions
from mmmimic.evaluation.functional import SETUPS
from mmmimic.utils.atomic import check_destination
from mmmimic.utils.cli import UsageError
from mmmimic.visualization import save_mr_curves


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ann_file', help='Caltech test annotations (json)')
    parser.add_argument('results', nargs='+', help='tools/test.py --out files')
    parser.add_argument('--labels', nargs='+',
                        help='legend names (default: the file names)')
    parser.add_argument('--setup', default='Reasonable', choices=list(SETUPS))
    parser.add_argument('--out', required=True, help='PNG to write')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    labels = args.labels or [osp.splitext(osp.basename(r))[0]
                             for r in args.results]
    if len(labels) != len(args.results):
        raise UsageError(f'--labels: {len(labels)} names for '
                         f'{len(args.results)} result files')
    # a PNG is replaced; an input never (before anything is read)
    check_destination(args.out, [args.ann_file] + args.results,
                      overwrite=True, flag='--out',
                      suffix='.png')
    curves = {}
    for label, path in zip(labels, args.results):
        predictions = load_predictions(path, 'result file')
        curves[label] = evaluate_predictions(args.ann_file, predictions,
                                             (args.setup, ))[args.setup]
    save_mr_curves(curves, args.out)
    width = max(len(label) for label in labels)
    print(f'{"run":<{width}}  MR-2 ({args.setup})')
    for label, result in sorted(curves.items(), key=lambda kv: kv[1].mr):
        print(f'{label:<{width}}  {100 * result.mr:.2f} %')
    print(f'saved: {args.out}')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
