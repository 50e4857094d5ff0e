import json
import os
import os.path as osp
import warnings
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmmimic.datasets.caltech.dataset import (
    annotation_problem,
    repeated_ids_message,
    repeated_image_ids,
)
from mmmimic.evaluation.functional import (
    SETUPS,
    CaltechSetup,
    MissRateResult,
    check_boxes,
    check_iou_thr,
    evaluate_miss_rate,
    setup_ground_truth,
    standardize_aspect,
)
from mmmimic.registry import METRICS
from mmmimic.utils.atomic import atomic_write_bytes
from mmmimic.visualization.mr_curves import save_mr_curves


@METRICS.register_module()
class CaltechMRMetric(BaseMetric):
    """Log-average miss rate (MR^-2) of the Caltech Pedestrian benchmark.

    Ground truth comes from the converter's annotation file (raw labels,
    heights, visibility); each setup filters it (:mod:`caltech_setups`), boxes
    and detections are standardised to aspect 0.41, and
    :func:`evaluate_miss_rate` scores them exactly as the benchmark does. Every
    image of the annotation file counts, with or without pedestrians.

    Predicted boxes with zero or negative width or height (a detector can
    output such degenerate boxes) are dropped with a count in the log rather
    than failing an evaluation at the end of a training run; a NaN or inf box
    or score is a ``ValueError`` naming the image (the model has diverged).

    Args:
        ann_file (str): The converter's ``annotations/test.json``.
        setups (sequence[str] | dict): Names from ``SETUPS`` or a dict of
            ``name -> CaltechSetup`` / kwargs of it.
        iou_thr (float): Overlap for a match.
        aspect_ratio (float, optional): Width/height standardisation; None
            turns it off.
        image_bounds (tuple, optional): ``(x1, y1, x2, y2)`` a counted box must
            lie in; None uses 5 pixels inside each image ([5 5 635 475] at
            640x480, the benchmark's).
        plot_curves (bool): Save the MR-FPPI curves as a PNG in the run's log
            folder (or ``curve_dir``).
        curve_dir (str, optional): Where the curve PNG goes.
        dump_dir (str, optional): Also write detections as the benchmark's
            ``setXX/VYYY.txt`` (``frame+1, x, y, w, h, score``) for the
            official MATLAB code.
    """
    default_prefix: Optional[str] = 'caltech'

    def __init__(self,
                 ann_file: str,
                 setups: Union[Sequence[str], Dict] = ('Reasonable', ),
                 iou_thr: float = 0.5,
                 aspect_ratio: Optional[float] = 0.41,
                 image_bounds: Optional[Tuple[float, float, float,
                                              float]] = None,
                 plot_curves: bool = True,
                 curve_dir: Optional[str] = None,
                 dump_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not osp.isfile(ann_file):
            raise FileNotFoundError(
                f'CaltechMRMetric ann_file={ann_file!r}: no such file; it is '
                'written by tools/dataset_converters/caltech.py '
                '(OUT_DIR/annotations/test.json)')
        self.ann_file = ann_file
        self.setups = self._parse_setups(setups)
        self.iou_thr = check_iou_thr(iou_thr, 'CaltechMRMetric')
        self.aspect_ratio = aspect_ratio
        self.image_bounds = image_bounds
        self.plot_curves = plot_curves
        self.curve_dir = curve_dir
        self.dump_dir = dump_dir
        self.images, self.objects = load_caltech_annotations(ann_file)
        self.num_dropped = 0

    @staticmethod
    def _parse_setups(setups) -> Dict[str, CaltechSetup]:
        if isinstance(setups, dict):
            return {
                name: s if isinstance(s, CaltechSetup) else CaltechSetup(**s)
                for name, s in setups.items()
            }
        unknown = [s for s in setups if s not in SETUPS]
        if unknown:
            raise ValueError(f'CaltechMRMetric setups {unknown} unknown; choose '
                             f'from {sorted(SETUPS)} or pass a dict')
        return {name: SETUPS[name] for name in setups}

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep ``(img_id, (K, 5) [x, y, w, h, score])`` per image.

        Boxes of size <= 0 are dropped (counted in ``num_dropped``).

        Raises:
            ValueError: a NaN or inf coordinate or score.
        """
        for sample in data_samples:
            pred = sample['pred_instances']
            boxes = pred['bboxes'].detach().cpu().numpy().astype(
                np.float64).reshape(-1, 4)
            scores = pred['scores'].detach().cpu().numpy().astype(np.float64)
            xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2],
                                   scores.reshape(-1, 1)], axis=1)
            if not np.isfinite(xywh).all():
                # raises, naming the image and the first non-finite row
                check_boxes(xywh, 'predictions', sample['img_id'])
            keep = (xywh[:, 2] > 0) & (xywh[:, 3] > 0)
            self.num_dropped += int((~keep).sum())
            self.results.append((sample['img_id'], xywh[keep]))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        curves = self.evaluate_setups(results)
        if self.num_dropped:
            logger.warning(f'CaltechMRMetric: dropped {self.num_dropped} '
                           'predicted box(es) of zero or negative size')
            self.num_dropped = 0
        metrics = {}
        for name, result in curves.items():
            metrics[f'{name}_MR'] = round(100.0 * result.mr, 4)
            logger.info(
                f'Caltech {name}: MR-2 {100 * result.mr:.2f} % on '
                f'{result.num_images} images, {result.num_positives} '
                'pedestrians')
        if self.plot_curves:
            path = self._curve_path()
            save_mr_curves(curves, path)
            logger.info(f'MR-FPPI curves saved to {path}')
        if self.dump_dir is not None:
            self._dump(sorted(self.images), dict(results))
        return metrics

    def evaluate_setups(self, results: List) -> Dict[str, MissRateResult]:
        """The curve and MR of every setup from ``(img_id, dets)`` results.

        Raises:
            ValueError: an image predicted twice, or not in ``ann_file``.

        Warns:
            UserWarning: images of ``ann_file`` without any prediction (they
            count as images where nothing was detected), with their count.
        """
        dets_by_image = dict(results)
        if len(dets_by_image) != len(results):
            seen, twice = set(), set()
            for image_id, _ in results:
                (twice if image_id in seen else seen).add(image_id)
            raise ValueError(
                f'CaltechMRMetric: {len(twice)} image id(s) (e.g. '
                f'{sorted(twice)[:3]}) predicted more than once; each test '
                'image must be predicted once (is an image listed twice in '
                'the test annotations, or a dataset repeated?)')
        unknown = set(dets_by_image) - set(self.images)
        if unknown:
            raise ValueError(
                f'CaltechMRMetric: {len(unknown)} predicted image id(s) (e.g. '
                f'{sorted(unknown)[:3]}) are not in {self.ann_file}; the '
                'test dataloader and the metric must use the same file')
        missing = len(self.images) - len(dets_by_image)
        if missing:
            warnings.warn(
                f'CaltechMRMetric: {missing} of {len(self.images)} images of '
                f'{self.ann_file} have no prediction at all and count as '
                'images where nothing was detected; test on the whole split '
                'for the benchmark\'s number', UserWarning, stacklevel=2)
        image_ids = sorted(self.images)
        dets = []
        for image_id in image_ids:
            det = dets_by_image.get(image_id, np.zeros((0, 5)))
            if self.aspect_ratio is not None:
                det = standardize_aspect(det, self.aspect_ratio)
            dets.append(det)
        curves = {}
        for name, setup in self.setups.items():
            gts = [
                setup_ground_truth(self.objects[i], setup, self._bounds(i),
                                   self.aspect_ratio) for i in image_ids
            ]
            curves[name] = evaluate_miss_rate(gts, dets, self.iou_thr,
                                              setup.det_height_range,
                                              image_ids=image_ids)
        return curves

    def _bounds(self, image_id) -> Optional[Tuple[float, ...]]:
        if self.image_bounds is not None:
            return tuple(self.image_bounds)
        image = self.images[image_id]
        return (5, 5, image['width'] - 5, image['height'] - 5)

    def _curve_path(self) -> str:
        directory = self.curve_dir
        if directory is None:
            log_file = getattr(MMLogger.get_current_instance(), 'log_file', None)
            directory = osp.dirname(log_file) if log_file else '.'
        os.makedirs(directory, exist_ok=True)
        return osp.join(directory, 'caltech_mr_fppi.png')

    def _dump(self, image_ids: List, dets_by_image: Dict) -> None:
        """The benchmark's detection files: ``DUMP/setXX/VYYY.txt``."""
        rows = defaultdict(list)
        for image_id in image_ids:
            image = self.images[image_id]
            if 'set' not in image or 'video' not in image:
                raise ValueError(
                    f'{self.ann_file}: image {image_id} has no set/video/frame; '
                    'dumping needs the converter\'s annotation file')
            for x, y, w, h, score in dets_by_image.get(image_id, []):
                rows[(image['set'], image['video'])].append(
                    f"{image['frame'] + 1},{x:.2f},{y:.2f},{w:.2f},{h:.2f},"
                    f'{score:.4f}')
        for (set_name, video), lines in rows.items():
            path = osp.join(self.dump_dir, set_name, f'{video}.txt')
            atomic_write_bytes(path, ('\n'.join(lines) + '\n').encode())


ANN_FORMAT = ('a JSON object with "images" (each with id, width, height) and '
              '"annotations" (each with image_id, bbox [x, y, w, h] and label '
              '"person"/"people"/"person?"), as tools/dataset_converters/'
              'caltech.py writes it')


def load_caltech_annotations(ann_file: str) -> Tuple[Dict, Dict[int, List]]:
    """``(images by id, annotations by image id)`` of a converter file.

    Raises:
        ValueError: the file is not in that format (e.g. plain COCO without
            ``label``); the message says what is expected.
    """
    try:
        with open(ann_file, encoding='utf-8') as f:
            coco = json.load(f)
        repeated = repeated_image_ids(coco['images'])
        if repeated:
            raise ValueError(repeated_ids_message(ann_file, repeated))
        images = {im['id']: im for im in coco['images']
                  if im['width'] > 0 and im['height'] > 0}
        if len(images) != len(coco['images']):
            raise ValueError('an image without a positive width and height')
        objects = defaultdict(list)
        for ann in coco['annotations']:
            problem = annotation_problem(ann, images)
            if problem:
                raise ValueError(problem)
            if not isinstance(ann['label'], str):
                raise ValueError(f'annotation {ann.get("id")}: label '
                                 f'{ann["label"]!r}')
            objects[ann['image_id']].append(ann)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        found = f'{type(e).__name__}: {e}' if str(e) else type(e).__name__
        raise ValueError(f'CaltechMRMetric ann_file={ann_file!r} is not a '
                         f'Caltech annotation file ({found}); expected '
                         f'{ANN_FORMAT}') from None
    return images, objects


def evaluate_predictions(ann_file: str, predictions: Sequence[dict],
                         setups: Sequence[str] = ('Reasonable', ),
                         **metric_args) -> Dict[str, MissRateResult]:
    """MR-FPPI curves of saved predictions, e.g. ``tools/test.py --out``'s list.

    Args:
        ann_file (str): The test annotations (``annotations/test.json``).
        predictions (list[dict]): One per image, with ``img_id`` and
            ``pred_instances`` (``bboxes``, ``scores``) in image coordinates.
        setups (sequence[str]): Setups to evaluate.

    Returns:
        dict[str, MissRateResult]: Per setup.
    """
    metric = CaltechMRMetric(ann_file, setups=tuple(setups), plot_curves=False,
                             **metric_args)
    metric.process({}, predictions)
    return metric.evaluate_setups(metric.results)
