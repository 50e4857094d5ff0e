"""Export the student of a mimic run as a plain MMDetection model.

    python tools/model_converters/extract_student.py CONFIG CHECKPOINT OUT_DIR \
        [--name NAME] [--overwrite] [--cfg-options k=v ...]
    mim run mmmimic extract_student CONFIG CHECKPOINT OUT_DIR

Writes OUT_DIR/NAME.py (the student as ``TwoStageDetector`` in the mmdet scope: teacher,
mimic loss, region sampler and training-only adapter removed, the student's
input scaling kept as ``mmmimic.ScaledDetDataPreprocessor``) and OUT_DIR/NAME.pth
(the student's weights; ``meta.mmmimic_export`` records the source). Load them
with ``mmdet.apis.init_detector`` or ``DetInferencer``; ``custom_imports`` names
mmmimic only when the student keeps one of its components. An existing
OUT_DIR/NAME.py or NAME.pth is never replaced without ``--overwrite``.
"""
import argparse

from mmengine.config import DictAction

import mmmimic  # noqa: F401
from mmmimic.models.distillers.student_export import (
    export_student,
)
from mmmimic.utils.cli import UsageError, file_stem, folder_path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export the student of a FeatureMimicDistiller run')
    parser.add_argument('config', help='the mimic config of the run')
    parser.add_argument('checkpoint', help='a checkpoint of the run')
    parser.add_argument('out_dir', type=folder_path,
                        help='where to write NAME.py and NAME.pth')
    parser.add_argument('--name', type=file_stem, help='file stem (default: '
                        '<config name>_student)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing OUT_DIR/NAME.py and .pth')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override keys of the mimic config first, e.g. key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        cfg_path, ckpt_path = export_student(
            args.config, args.checkpoint, args.out_dir, name=args.name,
            cfg_options=args.cfg_options, overwrite=args.overwrite)
    except FileExistsError as e:   # (an output without --overwrite)
        raise UsageError(str(e)) from None
    print(f'student config: {cfg_path}\nstudent checkpoint: {ckpt_path}')


if __name__ == '__main__':
    from mmmimic.utils.cli import run_tool
    run_tool(main)
