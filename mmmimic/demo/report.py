"""What the demo shows: the MR-2 of the asked seeds, the MR-FPPI curves, the
deployed models' figures (measured in a new interpreter), the tables
(printed and ``results.md``) and the figures (``mr_fppi_demo.png``,
``ablations.png``, ``schedule.png``) in the work dir."""
import argparse
import importlib.util
import os.path as osp
from typing import Dict, List

from mmmimic.deployment.latency import deployed_stats
from mmmimic.evaluation.functional import MissRateResult
from mmmimic.utils.atomic import atomic_write_bytes
from mmmimic.utils.benchmark import in_new_process
from mmmimic.utils.cli import UsageError
from mmmimic.visualization import (
    save_ablation_plot,
    save_mr_curves,
    save_schedule_plot,
    schedule_points,
)

from .data import first_test_image, reasonable
from .results import STAT_KEYS, DemoResults
from .runs import ABLATIONS, REPO, RUNS, Row, default_iters
from .tables import ablation_table, main_table, mean


def asked_mrs(store: DemoResults, rows: List[Row], keys: Dict[str, str],
              seeds: List[int]) -> Dict[str, Dict[str, float]]:
    """MR-2 per seed of each row recorded with its run key, at the asked
    seeds only (the teacher: the seed it was trained with), so that a table
    of seeds 1-3 is not mixed with a seed 0 that chose a weight, whatever
    else ``results.json`` holds; refused when no student row has any."""
    mrs = {row.role: {seed: mr for seed, mr in
                      store.current(row.role, keys[row.role]).items()
                      if row.role == 'teacher' or int(seed) in seeds}
           for row in rows}
    if not any(mrs[row.role] for row in rows[1:]):
        recorded = sorted({int(seed) for row in rows[1:] for seed in
                           store.current(row.role, keys[row.role])})
        raise UsageError(
            f'{store.path}: no MR-2 of these rows for seeds '
            f'{" ".join(map(str, seeds))} with the current configs '
            f'(it has seeds {" ".join(map(str, recorded)) or "none"}); pass '
            'those with --seeds')
    return mrs


def mr_curves(rows: List[Row], mrs: Dict[str, Dict[str, float]],
              data_dir: str, work_dir: str) -> Dict[str, MissRateResult]:
    """The Reasonable MR-FPPI curve of the teacher, student alone and mimic
    at each of their seeds whose predictions are in ``work_dir``."""
    curves = {}
    for row in rows[:3]:
        for seed in mrs[row.role]:
            out = osp.join(work_dir, 'teacher' if row.role == 'teacher' else
                           f'seed{seed}', row.role, 'predictions.pkl')
            if osp.isfile(out):
                curves[f'{row.role}, seed {seed}'] = reasonable(data_dir, out)
    return curves


def measure_deployed(args: argparse.Namespace, store: DemoResults,
                     rows: List[Row], checkpoints: Dict[str, str],
                     data_dir: str) -> Dict[str, dict]:
    """Measure the deployed models (students as the export writes them) of
    the rows with a checkpoint here, each on the first test image, in a new
    interpreter; record them and return every row's figures (``STAT_KEYS``)
    that ``results.json`` has."""
    # (the ONNX Runtime column needs requirements/deploy.txt, which
    # `make install` installs; without it that column stays empty)
    onnx = all(importlib.util.find_spec(m) is not None
               for m in ('onnx', 'onnxruntime'))
    if not onnx:
        print('  onnx / onnxruntime not installed: no ONNX Runtime column '
              '(pip install -r requirements/deploy.txt)', flush=True)
    # (--report-only: only rows whose checkpoints are here, with the teacher
    # beside them; the teacher alone is not measured again, so the table of
    # a results.json without checkpoints prints as it was recorded)
    to_measure = {row.role: (row.config, checkpoints[row.role])
                  for row in rows if row.role in checkpoints}
    if args.report_only and set(to_measure) == {'teacher'}:
        to_measure = {}
    measured = in_new_process(
        deployed_stats, to_measure, first_test_image(data_dir),
        3 if args.quick else 20, args.threads, onnx) if to_measure else {}
    store.record_measured(measured)
    spreads = [timing.spread for st in measured.values()
               for timing in st.get('timings', {}).values()]
    if spreads:
        print(f'  speed: medians of {3 if args.quick else 20} interleaved '
              f'rounds; the largest interquartile range is '
              f'{100 * max(spreads):.0f} % of its median, so smaller '
              'differences are noise (benchmarks/deploy_speed.py measures '
              'with quartiles and checks models of one architecture against '
              'each other)', flush=True)
    return {row.role: {k: store.row(row.role).get(k) for k in STAT_KEYS}
            for row in rows if 'latency_ms' in store.row(row.role)}


def report(rows: List[Row], mrs: Dict[str, Dict[str, float]],
           curves: Dict[str, MissRateResult], stats: Dict[str, dict],
           work_dir: str) -> str:
    """Tables (printed and results.md), the MR-FPPI PNG and, with ablation
    rows, ablations.png."""
    print('[4/4] comparison', flush=True)
    table, summary = main_table(mrs, stats, RUNS)
    summary += ('\n(each speed-up: the row against the teacher measured in the '
                'same run as the row; the teacher\'s ms: its latest '
                'measurement)')
    text = table + '\n\n' + summary + '\n'
    keys = sorted(set().union(*mrs.values()), key=int)
    png = osp.join(work_dir, 'mr_fppi_demo.png')
    colours = dict(teacher='black', student='tab:red', mimic='tab:blue')
    dashes = ['-', '--', ':', '-.']
    styles = {}
    for name in curves:
        role, seed = name.split(', seed ')
        styles[name] = dict(color=colours[role],
                            linestyle=dashes[keys.index(seed) % len(dashes)])
    if curves:
        save_mr_curves(curves, png, styles)
    else:   # --report-only in a work dir without predictions
        png = None
    print(table)
    print(summary)
    if any(r.name in ABLATIONS for r in rows):
        ablations = ablation_table(
            [r.role for r in rows if r.name in ABLATIONS], mrs, stats,
            ABLATIONS)
        text += ('\nAblations (verdict: the row differs from the row it is '
                 'compared with only if it is on the same side at every seed '
                 'and the mean difference exceeds the noise, the larger '
                 'standard deviation over seeds of the two rows):\n\n' +
                 ablations + '\n')
        print(ablations)
        figure = osp.join(work_dir, 'ablations.png')
        save_ablation_plot(
            {name: mrs[name] for name in ['mimic'] + [
                r.role for r in rows if r.name in ABLATIONS]}, figure,
            {'teacher': mean(mrs['teacher'].values()),
             'student alone': mean(mrs['student'].values())},
            title='demo ablations: MR-2 per seed (dots) and mean (bar)')
        print(f'ablation figure: {osp.relpath(figure, REPO)}')
    atomic_write_bytes(osp.join(work_dir, 'results.md'), text.encode())
    curves_at = osp.relpath(png, REPO) if png else \
        'none (no predictions in the work dir)'
    print(f'MR-FPPI curves: {curves_at}; table: '
          f'{osp.relpath(osp.join(work_dir, "results.md"), REPO)}')
    return table


def schedule_figure(store: DemoResults, rows: List[Row],
                    args: argparse.Namespace, data_at: str,
                    work_dir: str) -> None:
    """MR-2 against schedule length (``schedule.png``) of this data variant's
    rows, over the asked seeds, once ``results.json`` holds more than one
    length of a row."""
    default = default_iters()
    names = tuple(r.role for r in rows[1:] if '[' not in r.role)
    seeds = {str(s) for s in args.seeds}
    points = {name: {iters: {s: mr for s, mr in by_seed.items() if s in seeds}
                     for iters, by_seed in by_iters.items()}
              for name, by_iters in schedule_points(
                  store.data['models'], names, default, data_at).items()}
    points = {name: {i: v for i, v in by_iters.items() if v}
              for name, by_iters in points.items()}
    if not any(len(by_iters) > 1 for by_iters in points.values()):
        return
    teacher = store.data['models'].get('teacher' + data_at, {}).get('mr')
    path = osp.join(work_dir, 'schedule.png')
    save_schedule_plot(points, path, mean(teacher.values()) if teacher else
                       None, title=f'demo{data_at}: MR-2 against schedule '
                       f'length, seeds {" ".join(sorted(seeds, key=int))}')
    print(f'schedule figure: {osp.relpath(path, REPO)}')
