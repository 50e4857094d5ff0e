"""The demo's Caltech-like variant: sparse, cluttered street scenes.

The paper's findings are argued from Caltech's conditions: most frames hold no
pedestrian or one, pedestrians are small (half of them under 50 pixels), often
occluded, and the rest of the frame is cluttered street. The default demo
(:mod:`demo_caltech_render`) is dense (about four Reasonable pedestrians per
test image) on plain backgrounds. This variant draws the same kind of scene
with the conditions moved towards Caltech's:

- **density**: a few walkers per video, each crossing for a short stretch, so
  that most frames hold none or one (``walkers``, ``stay``);
- **size**: heights drawn log-normally around ``median_height`` pixels (the
  feet follow the ground-plane perspective as in the dense demo);
- **occlusion**: more parked cars and bushes in front of the pavement;
- **clutter**: three times the people-like distractors (poles, sign posts,
  trees, bollards), plus litter bins and textured facades (brick courses,
  shutters, awnings) that give the background strong edges.

A subclass in its own file, so that the dense renderer's source, which is part
of the dense data's fingerprint (``demo_manifest.json``), stays as it is and the
dense demo's run keys and numbers do not change.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import List

import cv2
import numpy as np
from demo_caltech_render import (
    ASPECT,
    HEIGHT,
    HORIZON,
    WIDTH,
    DemoVideo,
    Occluder,
    Walker,
)

from mmmimic.datasets.caltech.io import VbbAnnotation, write_seq, write_vbb


@dataclass(frozen=True)
class SparseScene:
    """What the sparse variant changes (the defaults are the variant's).

    Args:
        walkers (float): Mean number of walkers (Poisson) per 100 frames.
        stay (tuple[int, int]): A walker is in the video for this many frames
            (uniform).
        median_height (float): Median walker height in pixels (log-normal).
        height_sigma (float): Log-normal spread of the heights.
        occluders (tuple[int, int]): Parked cars and bushes per video.
        clutter_rounds (int): Rounds of the dense demo's distractors (4-9
            each).
        bins (tuple[int, int]): Litter bins (person-sized boxes) per video.
    """
    walkers: float = 3.0
    stay: tuple = (25, 70)
    median_height: float = 50.0
    height_sigma: float = 0.45
    occluders: tuple = (3, 7)
    clutter_rounds: int = 3
    bins: tuple = (2, 6)


class SparseDemoVideo(DemoVideo):
    """One video of the sparse variant, from a seed (see the module)."""

    def __init__(self, seed: int, num_frames: int,
                 scene: SparseScene = SparseScene()) -> None:
        self.scene = scene
        super().__init__(seed, num_frames)

    def _background(self) -> np.ndarray:
        img = super()._background()
        rng = self.rng
        # facades: brick courses, shutters and awnings over the buildings
        x = 0
        while x < WIDTH:
            w = int(rng.integers(40, 140))
            kind = rng.choice(['brick', 'shutter', 'awning'])
            shade = rng.uniform(0.55, 0.85)
            if kind == 'brick':
                for y in range(int(rng.integers(10, 40)), HORIZON + 40, 6):
                    img[y:y + 1, x:x + w] *= shade
                    offset = 0 if (y // 6) % 2 else 7
                    for bx in range(x + offset, x + w, 14):
                        img[y:y + 6, bx:bx + 1] *= shade
            elif kind == 'shutter':
                top = int(rng.integers(HORIZON - 40, HORIZON + 10))
                for y in range(top, HORIZON + 40, 3):
                    img[y:y + 1, x + 4:x + w - 4] *= shade
            else:
                top = int(rng.integers(HORIZON - 30, HORIZON + 20))
                colour = rng.uniform(40, 230, 3)
                for i, sx in enumerate(range(x, x + w, 10)):
                    img[top:top + 12, sx:sx + 5] = colour * (0.6 + 0.4 * (i % 2))
            x += w + int(rng.integers(0, 40))
        return np.clip(img, 0, 255)

    def _occluders(self) -> List[Occluder]:
        first = super()._occluders()   # the dense demo's 1-3
        lo, hi = self.scene.occluders
        more = int(self.rng.integers(lo, hi + 1)) - len(first)
        extra: List[Occluder] = []
        while len(extra) < more:
            extra += super()._occluders()
        return first + extra[:max(0, more)]

    def _draw_clutter(self, img: np.ndarray) -> None:
        for _ in range(self.scene.clutter_rounds):
            super()._draw_clutter(img)
        lo, hi = self.scene.bins
        for _ in range(int(self.rng.integers(lo, hi + 1))):   # litter bins
            feet = self.rng.uniform(HORIZON + 30, HEIGHT - 5)
            h = 200.0 * (feet - HORIZON) / (HEIGHT - HORIZON) * \
                self.rng.uniform(0.35, 0.55)
            cx = self.rng.uniform(0, WIDTH)
            colour = tuple(float(c) for c in self.rng.uniform(20, 200, 3))
            cv2.rectangle(img, (int(cx - h * 0.3), int(feet - h)),
                          (int(cx + h * 0.3), int(feet)), colour, -1)
            cv2.rectangle(img, (int(cx - h * 0.35), int(feet - h)),
                          (int(cx + h * 0.35), int(feet - h * 0.85)),
                          tuple(0.6 * c for c in colour), -1)

    def _walkers(self, density: float, empty_fraction: float
                 ) -> List[Walker]:
        rng, scene = self.rng, self.scene
        walkers: List[Walker] = []
        for _ in range(int(rng.poisson(scene.walkers * self.num_frames / 100))):
            h = float(np.clip(rng.lognormal(np.log(scene.median_height),
                                            scene.height_sigma), 15, 220))
            r = rng.random()
            label = 'person' if r < 0.85 else ('people' if r < 0.93 else
                                               'person?')
            stay = int(rng.integers(scene.stay[0], scene.stay[1] + 1))
            start = int(rng.integers(-(stay // 2), self.num_frames))
            speed = rng.uniform(0.8, 3.0) * rng.choice([-1, 1])
            x0 = rng.uniform(ASPECT * h, WIDTH - ASPECT * h)
            colours = [tuple(float(c) for c in rng.uniform(lo, hi)) for lo, hi
                       in (([0] * 3, [255] * 3), ([0] * 3, [140] * 3),
                           ([60, 90, 130], [150, 180, 230]))]
            faint = rng.uniform(0.6, 0.8) if label == 'person?' else \
                rng.uniform(0.0, 0.35)
            members = int(rng.integers(2, 4)) if label == 'people' else 1
            if min(self.num_frames, start + stay) <= max(0, start):
                continue                       # (never in the video)
            walkers.append(Walker(
                obj_id=len(walkers) + 1, label=label,
                feet_y=HORIZON + h * (HEIGHT - HORIZON) / 200.0, x0=x0,
                speed=speed, start=max(0, start),
                end=min(self.num_frames, start + stay), shirt=colours[0],
                trousers=colours[1], skin=colours[2], faint=faint,
                members=members))
        return walkers


def write_sparse_video(seq_path: str, vbb_path: str, seed: int,
                       num_frames: int, jpeg_quality: int = 90) -> int:
    """Render one video of the variant as ``.seq`` + ``.vbb``; returns the
    number of annotated objects over its frames."""
    video = SparseDemoVideo(seed, num_frames)
    rendered = [video.render(i) for i in range(num_frames)]
    jpegs = []
    for i, (img, _) in enumerate(rendered):
        ok, data = cv2.imencode('.jpg', img,
                                [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        if not ok:
            raise RuntimeError(f'{seq_path}: JPEG encoding failed at frame {i}')
        jpegs.append(data.tobytes())
    for path in (seq_path, vbb_path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    write_seq(seq_path, jpegs, WIDTH, HEIGHT, fps=30.0)
    write_vbb(vbb_path, VbbAnnotation(num_frames, video.labels,
                                      [objects for _, objects in rendered]))
    return sum(len(objects) for _, objects in rendered)
