"""The demo's ``results.json``: rows of MR-2 per seed, each seed's number kept
with the key of the run that made it, so that a table can be built over
several runs and a changed config is trained again.

Shape (``models[name]`` as ``tools/run_demo.py`` writes it)::

    {"seeds": [1, 2, 3],                  # the seeds of the last run
     "models": {"student": {"mr": {"1": 51.31, ...},       # MR-2 in %
                            "keys": {"1": "3f0c...", ...},  # run keys
                            "params_m": 0.843, "gflops": 0.68,
                            "latency_ms": 87.5,         # PyTorch
                            "onnx_latency_ms": 40.1}, ...}}
"""
import json
import os.path as osp
import statistics
import threading
from typing import Dict, List, Optional, Sequence

from mmmimic.utils.atomic import atomic_write_bytes

#: a row's deployed-model figures in ``results.json``; ``teacher_*`` are the
#: teacher's latencies measured in the same process, so that a speed-up is a
#: ratio of one run
STAT_KEYS = ('params_m', 'gflops', 'latency_ms', 'onnx_latency_ms',
             'teacher_latency_ms', 'teacher_onnx_latency_ms')


class DemoResults:
    """``results.json`` of a demo work dir, written after every change.

    Thread-safe: the demo's jobs record their rows as they finish, so an
    interrupted run keeps every row it finished.

    Rows run under another condition than the demo's default (another data
    variant, another schedule) are kept beside the default ones under
    ``NAME@CONDITION`` (``student@2000it``, ``teacher@sparse``): the methods
    take the plain name and read and write the name of this store's condition.

    Args:
        path (str): The JSON file; read if it exists.
        condition (str): Suffix of every row's stored name, ``''`` for the
            default data and schedule, e.g. ``'@sparse@2000it'``.
        teacher_condition (str, optional): The teacher's suffix (the teacher
            depends on the data, not on the students' schedule). Default:
            ``condition``.
        read_only (bool): Keep what is recorded in memory only (a report of
            earlier runs writes nothing into the file). Default: False.
    """

    def __init__(self, path: str, condition: str = '',
                 teacher_condition: Optional[str] = None,
                 read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.condition = condition
        self.teacher_condition = condition if teacher_condition is None \
            else teacher_condition
        self._lock = threading.Lock()
        self.data: dict = dict(seeds=[], models={})
        if osp.isfile(path):
            try:
                with open(path) as f:
                    data = json.load(f)
                models = data['models']
                if not isinstance(models, dict) or not all(
                        isinstance(m.get('mr', {}), dict)
                        for m in models.values()):
                    raise TypeError('models.<name>.mr must be an object')
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                raise ValueError(
                    f'{path} is not a demo results file ({err}); move it '
                    'away or pick another --work-dir') from err
            self.data = data

    def stored(self, name: str) -> str:
        """The name ``name`` is kept under in this store's condition."""
        return name + (self.teacher_condition if name == 'teacher' else
                       self.condition)

    def row(self, name: str) -> dict:
        """What is recorded of ``name`` (empty if nothing)."""
        return self.data['models'].get(self.stored(name), {})

    def seeds_recorded(self, name: str) -> List[int]:
        """The seeds ``name`` has an MR-2 of, by any run key."""
        return sorted(int(seed) for seed in self.row(name).get('mr', {}))

    def mr(self, name: str, seed: int, key: str) -> Optional[float]:
        """The recorded MR-2 of ``name`` at ``seed`` if it was made by a run
        with ``key``, else None (never run, or run with another config)."""
        row = self.row(name)
        if row.get('keys', {}).get(str(seed)) != key:
            return None
        return row.get('mr', {}).get(str(seed))

    def record(self, name: str, seed: int, key: str, mr: float,
               machine: Optional[str] = None) -> None:
        """Store one seed's MR-2 (%) of ``name`` and write the file;
        ``machine`` (CPU, instruction set, threads) is kept beside it: the
        same run key gives other digits on another instruction set."""
        with self._lock:
            row = self.data['models'].setdefault(self.stored(name), {})
            row.setdefault('mr', {})[str(seed)] = mr
            row.setdefault('keys', {})[str(seed)] = key
            if machine is not None:
                row.setdefault('machine', {})[str(seed)] = machine
            self._write()

    def record_stats(self, name: str, stats: Dict[str, float]) -> None:
        """Parameters (M), GFLOPs and latency (ms) of ``name``'s deployed
        model."""
        with self._lock:
            row = self.data['models'].setdefault(self.stored(name), {})
            row.update({k: stats[k] for k in STAT_KEYS if k in stats})
            self._write()

    def record_measured(self, measured: Dict[str, dict]) -> None:
        """Store the deployed models' figures of this run: each row with the
        teacher's latencies measured beside it, so that its speed-up is a ratio
        of one run. Rows recorded before rows carried their teacher's (older
        results.json files) first keep the teacher's figures they were compared
        with, so that measuring the teacher again does not change their ratio."""
        teacher_now = measured.get('teacher', {})
        models = self.data['models']
        teacher_then = self.row('teacher')
        if teacher_now and teacher_then.get('latency_ms') is not None:
            # (older files knew the default condition only)
            for role, row in list(models.items()) if not self.condition \
                    else []:
                if role != 'teacher' and role not in measured and \
                        row.get('latency_ms') is not None and \
                        row.get('teacher_latency_ms') is None:
                    self.record_stats(role, dict(
                        teacher_latency_ms=teacher_then['latency_ms'],
                        teacher_onnx_latency_ms=teacher_then.get(
                            'onnx_latency_ms')))
        for role, st in measured.items():
            figures = dict(params_m=st['params'], gflops=st['gflops'],
                           latency_ms=st['latency_ms'],
                           onnx_latency_ms=st.get('onnx_latency_ms'))
            if role != 'teacher' and teacher_now:
                figures.update(
                    teacher_latency_ms=teacher_now['latency_ms'],
                    teacher_onnx_latency_ms=teacher_now.get('onnx_latency_ms'))
            self.record_stats(role, figures)

    def set_seeds(self, seeds: Sequence[int]) -> None:
        with self._lock:
            self.data['seeds'] = list(seeds)
            self._write()

    def current(self, name: str, key: str) -> Dict[str, float]:
        """MR-2 per seed (string keys, ascending) of ``name`` over the seeds
        recorded with ``key``: numbers of an earlier config are left out."""
        row = self.row(name)
        seeds = [s for s, k in row.get('keys', {}).items()
                 if k == key and s in row.get('mr', {})]
        return {s: row['mr'][s] for s in sorted(seeds, key=int)}

    def _write(self) -> None:
        if self.read_only:
            return
        atomic_write_bytes(self.path,
                           json.dumps(self.data, indent=2).encode())


def verdict(row: Dict[str, float], reference: Dict[str, float],
            expected: int) -> dict:
    """Compare a row's MR-2 with its reference row's, seed by seed.

    The noise is the spread between seeds of the same row: the larger of the
    two rows' sample standard deviations over their seeds. The row differs
    from its reference only if it is on the same side at every shared seed
    and the mean of the per-seed differences is larger than that noise.

    Args:
        row, reference (dict): MR-2 (%) per seed.
        expected (int): +1 if the finding says the row's MR-2 is higher
            (worse) than the reference's, -1 if lower (better).

    Returns:
        dict: ``seeds`` (shared), ``diff`` (mean row - reference, points),
        ``noise`` (points), ``verdict``: ``'agrees'``, ``'disagrees'``,
        ``'inside the noise'`` or ``'too few seeds'`` (fewer than two shared
        seeds: no spread to judge by).
    """
    if expected not in (1, -1):
        raise ValueError(f'expected must be +1 or -1, not {expected!r}')
    seeds: List[str] = sorted(set(row) & set(reference), key=int)
    out = dict(seeds=seeds, diff=None, noise=None, verdict='too few seeds')
    if len(seeds) < 2:
        return out
    diffs = [row[s] - reference[s] for s in seeds]
    noise = max(statistics.stdev(row[s] for s in seeds),
                statistics.stdev(reference[s] for s in seeds))
    mean = statistics.mean(diffs)
    out.update(diff=mean, noise=noise)
    same_side = all(d > 0 for d in diffs) or all(d < 0 for d in diffs)
    if not same_side or abs(mean) <= noise:
        out['verdict'] = 'inside the noise'
    else:
        out['verdict'] = 'agrees' if (mean > 0) == (expected > 0) \
            else 'disagrees'
    return out
