"""Compare two prediction dumps of the same test split (``tools/test.py
--out``), e.g. an exported ONNX file's against its PyTorch checkpoint's.

    python tools/analysis_tools/compare_predictions.py GOT.pkl EXPECTED.pkl \
        [--box-atol 0.05] [--score-atol 1e-4]

Prints how many images have the very same detections (matched one to one:
equal labels, scores and boxes within the tolerances), how many detections
match, and the largest box and score differences of matched pairs.

A dump is a pickle (MMDetection's ``DumpDetResults``); it is read as data only
and checked (:func:`mmmimic.evaluation.load_predictions`): a file that asks for
code is refused, naming it, before anything of it runs, and so is one whose
boxes, scores or labels are not detections (reversed or non-finite boxes,
scores outside [0, 1], an image twice).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from mmmimic.deployment.compare import compare_predictions  # noqa: E402
from mmmimic.evaluation.prediction_dump import (  # noqa: E402
    load_predictions,
    same_images,
)
from mmmimic.utils.cli import non_negative_float  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('got')
    parser.add_argument('expected')
    parser.add_argument('--box-atol', type=non_negative_float, default=0.05,
                        help='largest coordinate difference of a match (px)')
    parser.add_argument('--score-atol', type=non_negative_float, default=1e-4)
    args = parser.parse_args()
    # dumps of tools/test.py --out (DumpDetResults), read as data, checked
    dumps = [load_predictions(path, f'{name} prediction dump')
             for name, path in (('got', args.got), ('expected', args.expected))]
    same_images(dumps, [args.got, args.expected])
    result = compare_predictions(*dumps, box_atol=args.box_atol,
                                 score_atol=args.score_atol)
    print(f"{result['identical_images']} of {result['images']} images with "
          f"the same detections; {result['matched']} of "
          f"{result['detections']} detections matched; largest box "
          f"difference {result['max_box_diff']:.4g} px, largest score "
          f"difference {result['max_score_diff']:.3g}")


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
