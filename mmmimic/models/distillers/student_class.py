"""The student's own detector class, and the distiller joined with it."""
from typing import Dict, Optional, Tuple


def student_detector_class(student_type: Optional[str]) -> type:
    """The class ``model.student_type`` names (a registered two-stage
    detector class), ``TwoStageDetector`` for None.

    Raises:
        ValueError: an unknown name or a class that is not a
            ``TwoStageDetector``.
    """
    from mmdet.models.detectors import TwoStageDetector
    from mmengine.registry import DefaultScope

    from mmmimic.registry import MODELS
    if student_type is None:
        return TwoStageDetector
    with DefaultScope.overwrite_default_scope('mmmimic'):
        cls = MODELS.get(student_type) if isinstance(student_type, str) \
            else None
    if not (isinstance(cls, type) and issubclass(cls, TwoStageDetector)):
        raise ValueError(
            f'model.student_type={student_type!r}: name the student\'s own '
            "two-stage detector class, e.g. 'mmdet.FasterRCNN' (the student "
            'trains as that class, and the export writes it), or leave it out '
            'for TwoStageDetector')
    return cls


_MIMIC_CLASSES: Dict[Tuple[type, type], type] = {}


def mimic_class(distiller: type, student: type) -> type:
    """``distiller`` joined with the ``student`` detector class (cached):
    ``distiller`` itself when it already derives from ``student``."""
    if issubclass(distiller, student):
        return distiller
    key = (distiller, student)
    if key not in _MIMIC_CLASSES:
        name = f'{distiller.__name__}[{student.__name__}]'
        _MIMIC_CLASSES[key] = type(name, (distiller, student), dict(
            student_class=student, joined_from=key,
            __module__=distiller.__module__, __qualname__=name,
            __doc__=distiller.__doc__))
    return _MIMIC_CLASSES[key]


def new_joined_instance(distiller: type, student: type):
    """A bare instance of ``distiller`` joined with ``student``, for
    unpickling: the joined class is made at run time, so a pickle cannot
    name it, and names the two classes instead (their state follows)."""
    cls = mimic_class(distiller, student)
    return object.__new__(cls)
