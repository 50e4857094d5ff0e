"""The demo's tables: the teacher, student alone and mimic rows with their
speed-ups, and the ablation rows with their verdicts (printed by
``tools/run_demo.py`` and written to ``results.md``)."""
from typing import Dict, List, Sequence, Tuple

from .results import verdict

#: a demo row: (title, config file name, role in results.json)
Run = Tuple[str, str, str]
#: an ablation row's reference row, expected direction (+1: worse) and finding
Finding = Tuple[str, int, str]


def fmt(value, spec: str) -> str:
    return '-' if value is None else format(value, spec)


def fmt_mr(value) -> str:
    return fmt(value, '.2f')


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float('nan')


def speed_up(stats: Dict[str, dict], role: str,
             key: str = 'latency_ms') -> str:
    """The teacher's latency over the row's, in one runtime: the teacher's
    as measured beside the row (one run), else (results of an earlier
    version) the teacher row's."""
    row = stats.get(role, {})
    teacher = row.get(f'teacher_{key}')
    if teacher is None:
        teacher = stats.get('teacher', {}).get(key)
    if teacher is None or row.get(key) is None:
        return '-'
    return f'{teacher / row[key]:.2f}x'


def main_table(mrs: Dict[str, Dict[str, float]], stats: Dict[str, dict],
               runs: Sequence[Run]) -> Tuple[str, str]:
    """The ``runs`` rows (teacher, student alone, mimic: MR-2 per seed in
    ``mrs``, deployed figures in ``stats``, both by role), and the summary
    line."""
    keys = sorted(set().union(*(mrs[role] for _, _, role in runs)), key=int)
    header = ('| model | params (M) | GFLOPs | PyTorch ms | speed-up | '
              'ONNX Runtime ms | speed-up | ' +
              ' | '.join(f'MR-2 seed {k}' for k in keys) + ' | mean MR-2 |')
    lines = [header, '|' + '---|' * (8 + len(keys))]
    for name, _, role in runs:
        st, mr = stats.get(role, {}), mrs[role]
        cells = [fmt(st.get('params_m'), '.3f'), fmt(st.get('gflops'), '.2f'),
                 fmt(st.get('latency_ms'), '.1f'), speed_up(stats, role),
                 fmt(st.get('onnx_latency_ms'), '.1f'),
                 speed_up(stats, role, 'onnx_latency_ms')]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' | ' +
                     ' | '.join(fmt_mr(mr.get(k)) for k in keys) +
                     f' | {mean(mr.values()):.2f} |')
    paired = sorted(set(mrs['mimic']) & set(mrs['student']), key=int)
    wins = sum(mrs['mimic'][k] < mrs['student'][k] for k in paired)
    summary = f'mimic below the student alone at {wins} of {len(paired)} seeds'
    teacher_mr = mean(mrs['teacher'].values())
    gaps = [(mrs['student'][k] - mrs['mimic'][k]) /
            (mrs['student'][k] - teacher_mr) for k in paired
            if mrs['student'][k] != teacher_mr]
    if gaps:
        summary += (f'; mean share of the student-teacher gap closed by mimic: '
                    f'{100 * mean(gaps):.0f} %')
    return '\n'.join(lines), summary


def ablation_table(names: List[str], mrs: Dict[str, Dict[str, float]],
                   stats: Dict[str, dict],
                   findings: Dict[str, Finding]) -> str:
    """One line per ablation row (``names``: roles, ``NAME`` or
    ``NAME[options]``): its finding, MR-2 per seed and mean, the speed-up
    over the teacher, and the verdict against its reference row
    (:func:`mmmimic.demo.results.verdict`)."""
    keys = sorted(set().union(*(mrs[n] for n in names)), key=int)
    header = ['row', 'finding (paper)', 'compared with'] + [
        f'seed {k}' for k in keys] + ['mean', 'speed-up (PyTorch)',
                                      'speed-up (ONNX Runtime)', 'mean diff',
                                      'noise', 'verdict']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for name in names:
        reference, expected, finding = findings[name.split('[')[0]]
        judged = verdict(mrs[name], mrs.get(reference, {}), expected)
        diff = '-' if judged['diff'] is None else f"{judged['diff']:+.2f}"
        noise = '-' if judged['noise'] is None else f"{judged['noise']:.2f}"
        lines.append(
            f'| {name} | {finding} | {reference} | ' +
            ' | '.join(fmt_mr(mrs[name].get(k)) for k in keys) +
            f' | {mean(mrs[name].values()):.2f} | {speed_up(stats, name)} | '
            f"{speed_up(stats, name, 'onnx_latency_ms')} | "
            f"{diff} | {noise} | {judged['verdict']} |")
    return '\n'.join(lines)
