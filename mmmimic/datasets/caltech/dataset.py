import logging
import math
import numbers
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine.logging import print_log

from mmmimic.registry import DATASETS

from .positives import PositiveRule, visibility_ratio


def repeated_image_ids(images: Sequence[dict]) -> Dict[object, List[str]]:
    """``{id: file names}`` of every id that more than one entry of a COCO
    file's ``images`` has (COCO's index would keep the last silently)."""
    names = defaultdict(list)
    for image in images:
        names[image.get('id')].append(str(image.get('file_name')))
    return {i: n for i, n in names.items() if len(n) > 1}


def repeated_ids_message(ann_file: str, repeated: Dict[object, List[str]]
                         ) -> str:
    first = next(iter(repeated))
    return (f'{ann_file}: {len(repeated)} image id(s) used by more than one '
            f'image, e.g. id {first!r} by {repeated[first][:3]}; every image '
            'needs its own id (write the file again with '
            'tools/dataset_converters/caltech.py)')


def annotation_problem(ann: dict, image_ids) -> Optional[str]:
    """Why one annotation of a COCO-style file cannot be used, or None: an
    ``image_id`` that is not among the file's images (COCO's index would
    leave it out silently), or a ``bbox`` that is not four finite numbers
    ``[x, y, w, h]`` with ``w, h >= 0``."""
    where = f'annotation {ann.get("id")!r}'
    if ann.get('image_id') not in image_ids:
        return (f'{where}: image_id {ann.get("image_id")!r} is not one of '
                'the file\'s "images"; it would be left out silently')
    box = ann.get('bbox')
    if not isinstance(box, (list, tuple)) or len(box) != 4 or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool)
            and math.isfinite(v) for v in box):
        return (f'{where} (image_id {ann.get("image_id")!r}): bbox {box!r} '
                'is not four finite numbers [x, y, w, h]')
    if box[2] < 0 or box[3] < 0:
        return (f'{where} (image_id {ann.get("image_id")!r}): bbox {box!r} '
                'has a negative width or height (COCO boxes are [x, y, w, '
                'h], not corners)')
    return None


class BadAnnotation(ValueError):
    """Raised by :class:`UniqueIdCOCO` with :func:`annotation_problem`'s
    message."""


class RepeatedImageIds(ValueError):
    """Raised by :class:`UniqueIdCOCO` with the repeated ids."""

    def __init__(self, repeated: Dict[object, List[str]]) -> None:
        super().__init__(repeated)
        self.repeated = repeated


class UniqueIdCOCO(COCO):
    """mmdet's COCO API, refusing a file whose images share an id before it
    indexes them (the index keeps one image per id, silently)."""

    def createIndex(self) -> None:  # noqa: N802 (pycocotools' name)
        repeated = repeated_image_ids(self.dataset.get('images', []))
        if repeated:
            raise RepeatedImageIds(repeated)
        image_ids = {image.get('id') for image in
                     self.dataset.get('images', [])}
        for ann in self.dataset.get('annotations', []):
            problem = annotation_problem(ann, image_ids)
            if problem:
                raise BadAnnotation(problem)
        super().createIndex()


@DATASETS.register_module()
class CaltechPedestrianDataset(CocoDataset):
    """Caltech Pedestrian as written by ``tools/dataset_converters/caltech.py``.

    One class, ``person``. Objects that are not training positives become
    ignore regions (``ignore_flag``, delivered as ``gt_ignore_flags`` so that
    mmdet's assigners ignore them). By default the converter's ``iscrowd``
    field (COCO's ignore-region marker) decides; ``positive_rule``
    re-decides from the raw fields (label, height, visibility), e.g.
    ``dict(labels=('person', ), min_height=50, min_visibility=0.65)``.
    Images without pedestrians are kept (they are part of the benchmark):
    ``filter_cfg`` defaults to ``filter_empty_gt=False``.

    Args:
        positive_rule (dict, optional): ``labels``, ``min_height``,
            ``min_visibility`` of a positive.
        **kwargs: :class:`mmdet.datasets.CocoDataset` arguments.
    """
    METAINFO = dict(classes=('person', ), palette=[(220, 20, 60)])
    COCOAPI = UniqueIdCOCO

    def __init__(self, *args, positive_rule: Optional[dict] = None,
                 filter_cfg: Optional[dict] = None, **kwargs) -> None:
        if positive_rule is not None:
            rule = dict(positive_rule)
            if 'labels' in rule:
                rule['labels'] = tuple(rule['labels'])
            unknown = set(rule) - {'labels', 'min_height', 'min_visibility'}
            if unknown:
                raise ValueError(
                    f'positive_rule keys {sorted(unknown)} unknown; use labels, '
                    'min_height, min_visibility')
            self.positive_rule: Optional[PositiveRule] = PositiveRule(**rule)
        else:
            self.positive_rule = None
        if filter_cfg is None:
            filter_cfg = dict(filter_empty_gt=False)
        super().__init__(*args, filter_cfg=filter_cfg, **kwargs)

    def load_data_list(self) -> List[dict]:
        """CocoDataset's list, after checking that image ids are unique.

        Raises:
            ValueError: two images of ``ann_file`` share an id, an
                annotation names no image of it or has a malformed box
                (:func:`annotation_problem`), or it holds no image (a
                training would see nothing, a test would score nothing).
        """
        self._skipped_boxes = 0
        try:
            data_list = super().load_data_list()
        except RepeatedImageIds as error:
            raise ValueError(repeated_ids_message(
                self.ann_file, error.repeated)) from None
        except BadAnnotation as error:
            raise ValueError(
                f'{self.ann_file}: {error}. Fix or remove it, or write the '
                'file again with tools/dataset_converters/caltech.py') from None
        if not data_list:
            raise ValueError(
                f'{self.ann_file}: no images in it (its "images" list is '
                'empty); convert the split again with '
                'tools/dataset_converters/caltech.py, or point ann_file at '
                'another split')
        if self._skipped_boxes:
            print_log(f'{self.ann_file}: {self._skipped_boxes} box(es) '
                      'smaller than a pixel or entirely outside their image '
                      'left out (as CocoDataset does)', logger='current',
                      level=logging.WARNING)
        return data_list

    def _check_categories(self) -> None:
        """Refuse a file whose categories lack one of the classes (its
        instances would all be dropped, training on background only)."""
        classes = list(self.metainfo['classes'])
        names = [c.get('name') for c in self.coco.cats.values()]
        missing = [c for c in classes if c not in names]
        if missing:
            raise ValueError(
                f'{self.ann_file}: no category named {missing} (its '
                f'categories: {names}); the dataset\'s classes are {classes}. '
                'Write the file with tools/dataset_converters/caltech.py, or '
                'set the dataset\'s metainfo=dict(classes=...) to its names')

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """One image: path, size and instances with ``ignore_flag``.

        Boxes smaller than a pixel or entirely outside the image are skipped,
        as CocoDataset does (their count is logged once); unlike
        CocoDataset, nothing else is dropped: an instance of a category that
        is not one of the classes is refused, as is a file without a
        category for each class.
        """
        if not getattr(self, '_categories_checked', False):
            self._check_categories()
            self._categories_checked = True
        img_info = raw_data_info['raw_img_info']
        width, height = img_info['width'], img_info['height']
        instances = []
        for ann in raw_data_info['raw_ann_info']:
            if ann['category_id'] not in self.cat_ids:
                known = {c['id']: c.get('name') for c in
                         self.coco.cats.values()}
                raise ValueError(
                    f'{self.ann_file}: annotation {ann.get("id")} of '
                    f'{img_info.get("file_name")} has category_id '
                    f'{ann["category_id"]!r} '
                    f'({known.get(ann["category_id"], "not a category")}), '
                    f'not one of the classes {list(self.metainfo["classes"])}'
                    f' (ids {list(self.cat_ids)}); it would be dropped '
                    'silently. Remove it from the file or add its class')
            x, y, w, h = ann['bbox']
            inter_w = max(0, min(x + w, width) - max(x, 0))
            inter_h = max(0, min(y + h, height) - max(y, 0))
            if w < 1 or h < 1 or inter_w * inter_h == 0:
                self._skipped_boxes = getattr(self, '_skipped_boxes', 0) + 1
                continue
            instances.append(
                dict(bbox=[x, y, x + w, y + h],
                     bbox_label=self.cat2label[ann['category_id']],
                     ignore_flag=int(self._is_ignored(ann))))
        return dict(
            img_path=osp.join(self.data_prefix['img'], img_info['file_name']),
            img_id=img_info['img_id'], seg_map_path=None, height=height,
            width=width, instances=instances)

    def _is_ignored(self, ann: dict) -> bool:
        if self.positive_rule is None:
            return bool(ann.get('iscrowd', 0))
        height = ann.get('height', ann['bbox'][3])
        if 'visibility' in ann:
            vis = ann['visibility']
        else:
            vis = visibility_ratio(ann['bbox'], ann.get('vbbox', [0] * 4),
                                   bool(ann.get('occluded', 0)))
        return not self.positive_rule.is_positive(
            ann.get('label', 'person'), height, vis)

    def get_cat_ids(self, idx: int) -> List[int]:
        """Class ids of the non-ignored instances of image ``idx``."""
        instances = self.get_data_info(idx)['instances']
        return [i['bbox_label'] for i in instances if not i['ignore_flag']]

