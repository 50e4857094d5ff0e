"""How the demo runs the repository's tools: one tool in a new interpreter
with its output in a log (the tail shown if it fails), and jobs (one row at
one seed: train, then test, then record) a few at a time."""
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, NamedTuple, Tuple

from .runs import REPO, Row

Step = Tuple[str, List[str], str]   # title, tool command, log file


class Job(NamedTuple):
    """Train (unless done) and test one row at one seed, then record it."""
    row: Row
    seed: int
    steps: List[Step]
    predictions: str


def run_tool_logged(cmd: List[str], log_path: str, title: str = '') -> None:
    """Run a tool, its output into ``log_path``; fail loudly with the tail.

    Args:
        cmd (list[str]): The tool (a path relative to the repository, where
            it runs) and its arguments.
        log_path (str): The tool's stdout and stderr.
        title (str): Printed with the time it took. Defaults to ''.
    """
    start = time.monotonic()
    with open(log_path, 'w') as log:
        proc = subprocess.run([sys.executable] + cmd, cwd=REPO, stdout=log,
                              stderr=subprocess.STDOUT, env=os.environ)
    if proc.returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-4000:]
        raise SystemExit(f'{" ".join(cmd)} failed (log: {log_path}):\n{tail}')
    title = f'{title}: ' if title else ''
    print(f'  {title}done in {time.monotonic() - start:.0f} s (log: '
          f'{osp.relpath(log_path, REPO)})', flush=True)


def run_parallel(jobs: List[Job], workers: int,
                 done: Callable[[Job], None]) -> None:
    """Run jobs, ``workers`` at a time; a job's steps run in order (train,
    then test), then ``done(job)``. No job's result depends on the others or
    on the order."""
    def one(job: Job) -> None:
        for title, cmd, log in job.steps:
            print(f'  {title}: started', flush=True)
            run_tool_logged(cmd, log, title)
        done(job)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(one, job) for job in jobs]:
            future.result()
