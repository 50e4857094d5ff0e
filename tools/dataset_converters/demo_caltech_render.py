"""A small procedural pedestrian dataset in the raw Caltech layout.

Street scenes at 640x480: sky, buildings with windows, a pavement; walking
pedestrians 20-200 pixels tall whose size follows the ground-plane perspective;
groups labelled ``people``; faint, low-contrast walkers labelled ``person?``;
parked cars and bushes that occlude the lower body (recorded in ``posv``);
people-like clutter (poles with round tops, sign posts, trees, bollards) that is
not annotated; stretches of frames without pedestrians. Everything is drawn
from a seed, so the same arguments give the same files.

Written as the benchmark is distributed: ``setXX/VYYY.seq`` (JPEG frames behind
a Norpix header) and ``annotations/setXX/VYYY.vbb``.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Tuple

import cv2
import numpy as np

from mmmimic.datasets.caltech.io import VbbAnnotation, VbbObject, write_seq, write_vbb

WIDTH, HEIGHT = 640, 480
HORIZON = 150          # image row of the horizon; feet lie below it
ASPECT = 0.41


def height_at(feet_y: float) -> float:
    """Pedestrian height (pixels) whose feet touch the ground at row feet_y."""
    return 200.0 * (feet_y - HORIZON) / (HEIGHT - HORIZON)


@dataclass
class Walker:
    """One pedestrian (or a group) moving along the pavement."""
    obj_id: int
    label: str                  # 'person', 'people' or 'person?'
    feet_y: float
    x0: float                   # centre x at frame start
    speed: float                # pixels per frame
    start: int
    end: int
    shirt: Tuple[int, int, int]
    trousers: Tuple[int, int, int]
    skin: Tuple[int, int, int]
    faint: float                # 0: normal contrast; -> 1: washed into the scene
    members: int = 1            # > 1 for a group

    def box(self, frame: int) -> Tuple[float, float, float, float]:
        """[left, t, w, h] of the whole walker (or group) in ``frame``."""
        h = height_at(self.feet_y)
        w = ASPECT * h * (1 + 0.75 * (self.members - 1))
        cx = self.x0 + self.speed * (frame - self.start)
        return (cx - w / 2, self.feet_y - h, w, h)


@dataclass
class Occluder:
    kind: str                   # 'car' or 'bush'
    box: Tuple[int, int, int, int]  # left, t, r, b
    color: Tuple[int, int, int]


class DemoVideo:
    """Scene, walkers, occluders and clutter of one video, from a seed."""

    def __init__(self, seed: int, num_frames: int, density: float = 1.0,
                 empty_fraction: float = 0.15) -> None:
        self.rng = np.random.default_rng(seed)
        self.num_frames = num_frames
        self.background = self._background()
        self.clutter_layer = self.background.copy()
        self.occluders = self._occluders()
        self._draw_clutter(self.clutter_layer)
        self.walkers = self._walkers(density, empty_fraction)
        self.labels = [w.label for w in self.walkers]

    # -- scene ----------------------------------------------------------------
    def _background(self) -> np.ndarray:
        rng = self.rng
        img = np.zeros((HEIGHT, WIDTH, 3), np.float32)
        sky_top, sky_bottom = rng.uniform(150, 230, 3), rng.uniform(120, 200, 3)
        t = np.linspace(0, 1, HORIZON)[:, None, None]
        img[:HORIZON] = sky_top * (1 - t) + sky_bottom * t
        x = 0
        while x < WIDTH:                          # buildings
            w = int(rng.integers(60, 160))
            top = int(rng.integers(20, HORIZON - 10))
            color = rng.uniform(60, 190, 3)
            img[top:HORIZON + 40, x:x + w] = color
            for wy in range(top + 10, HORIZON + 20, 22):     # windows
                for wx in range(x + 8, x + w - 12, 20):
                    img[wy:wy + 10, wx:wx + 9] = color * rng.uniform(0.3, 0.7)
            x += w
        ground = rng.uniform(90, 150)
        rows = np.linspace(0, 1, HEIGHT - HORIZON - 40)[:, None, None]
        img[HORIZON + 40:] = ground * (0.9 + 0.2 * rows) * np.array(
            rng.uniform(0.9, 1.1, 3))
        img += 6 * rng.standard_normal(img.shape, dtype=np.float32)  # texture
        return np.clip(img, 0, 255)

    def _occluders(self) -> List[Occluder]:
        occluders = []
        for _ in range(int(self.rng.integers(1, 4))):
            kind = 'car' if self.rng.random() < 0.6 else 'bush'
            bottom = int(self.rng.uniform(HORIZON + 80, HEIGHT - 10))
            scale = height_at(bottom) / 200
            w = int((260 if kind == 'car' else 140) * scale) + 20
            h = int((110 if kind == 'car' else 80) * scale) + 10
            left = int(self.rng.uniform(0, WIDTH - w))
            color = tuple(float(c) for c in (
                self.rng.uniform(30, 220, 3) if kind == 'car' else
                (self.rng.uniform(20, 60), self.rng.uniform(90, 150),
                 self.rng.uniform(30, 70))))
            occluders.append(Occluder(kind, (left, bottom - h, left + w, bottom),
                                      color))
        return occluders

    def _draw_clutter(self, img: np.ndarray) -> None:
        """People-like things that are not people."""
        for _ in range(int(self.rng.integers(4, 10))):
            kind = self.rng.choice(['pole', 'sign', 'tree', 'bollard'])
            feet = self.rng.uniform(HORIZON + 20, HEIGHT - 5)
            h = max(12.0, height_at(feet) * self.rng.uniform(0.8, 1.3))
            cx = self.rng.uniform(0, WIDTH)
            color = tuple(float(c) for c in self.rng.uniform(20, 230, 3))
            top = int(feet - h)
            if kind == 'pole':
                cv2.rectangle(img, (int(cx - h * 0.04), top),
                              (int(cx + h * 0.04), int(feet)), color, -1)
                cv2.circle(img, (int(cx), top), max(2, int(h * 0.09)), color,
                           -1)
            elif kind == 'sign':
                cv2.rectangle(img, (int(cx - h * 0.02), int(feet - h * 0.6)),
                              (int(cx + h * 0.02), int(feet)), color, -1)
                cv2.rectangle(img, (int(cx - h * 0.18), top),
                              (int(cx + h * 0.18), int(feet - h * 0.55)),
                              tuple(float(c) for c in self.rng.uniform(
                                  20, 230, 3)), -1)
            elif kind == 'tree':
                cv2.rectangle(img, (int(cx - h * 0.05), int(feet - h * 0.6)),
                              (int(cx + h * 0.05), int(feet)), (40, 60, 90), -1)
                cv2.ellipse(img, (int(cx), int(feet - h * 0.7)),
                            (max(3, int(h * 0.25)), max(3, int(h * 0.3))), 0,
                            0, 360, (40, float(self.rng.uniform(100, 160)), 50),
                            -1)
            else:
                cv2.rectangle(img, (int(cx - h * 0.12), int(feet - h * 0.45)),
                              (int(cx + h * 0.12), int(feet)), color, -1)
                cv2.circle(img, (int(cx), int(feet - h * 0.45)),
                           max(2, int(h * 0.12)), color, -1)

    def _walkers(self, density: float, empty_fraction: float) -> List[Walker]:
        rng = self.rng
        walkers: List[Walker] = []
        quiet_start = int(self.num_frames * (1 - empty_fraction))
        count = int(rng.poisson(12 * density)) + 2
        for _ in range(count):
            feet = rng.uniform(HORIZON + 25, HEIGHT + 10)   # 20 .. 200+ px
            r = rng.random()
            label = 'person' if r < 0.8 else ('people' if r < 0.9 else
                                              'person?')
            speed = rng.uniform(0.8, 3.5) * rng.choice([-1, 1])
            start = int(rng.integers(0, max(1, quiet_start - 20)))
            end = int(min(quiet_start, start + rng.integers(40, 400)))
            skin = tuple(float(c) for c in rng.uniform([60, 90, 130],
                                                       [150, 180, 230]))
            walkers.append(
                Walker(obj_id=len(walkers) + 1, label=label, feet_y=feet,
                       x0=rng.uniform(0, WIDTH), speed=speed, start=start,
                       end=end,
                       shirt=tuple(float(c) for c in rng.uniform(0, 255, 3)),
                       trousers=tuple(float(c) for c in rng.uniform(0, 140, 3)),
                       skin=skin,
                       faint=rng.uniform(0.6, 0.8) if label == 'person?' else
                       rng.uniform(0.0, 0.35),
                       members=int(rng.integers(2, 4)) if label == 'people'
                       else 1))
        return walkers

    # -- frames ---------------------------------------------------------------
    def render(self, frame: int) -> Tuple[np.ndarray, List[VbbObject]]:
        """BGR image and the annotated objects of ``frame``."""
        img = self.clutter_layer.copy()
        objects = []
        visible = [w for w in self.walkers if w.start <= frame < w.end]
        # painter's order: what stands farther (higher feet row) first
        layers = [(w.feet_y, 1, i) for i, w in enumerate(visible)]
        layers += [(o.box[3], 0, i) for i, o in enumerate(self.occluders)]
        for _, is_walker, i in sorted(layers):
            if not is_walker:
                self._draw_occluder(img, self.occluders[i])
                continue
            walker = visible[i]
            left, t, w, h = walker.box(frame)
            if left + w < 0 or left >= WIDTH or h < 8:
                continue
            self._draw_walker(img, walker, frame)
            objects.append((walker, (left, t, w, h)))
        img += 4 * self.rng.standard_normal(img.shape, dtype=np.float32)
        annotated = []
        for walker, (left, t, w, h) in objects:
            posv, occluded = self._visible_part((left, t, w, h), walker.feet_y)
            if posv is None:
                continue                        # hidden entirely
            annotated.append(VbbObject(walker.obj_id, walker.label,
                                       np.array([left, t, w, h]), np.array(posv),
                                       occluded))
        return np.clip(img, 0, 255).astype(np.uint8), annotated

    def _visible_part(self, box, feet_y) -> Tuple[Optional[list], bool]:
        """Visible box of a walker behind the occluders standing in front."""
        left, t, w, h = box
        bottom = t + h
        for occ in self.occluders:
            ol, ot, orr, ob = occ.box
            in_front = ob > feet_y
            overlaps_x = min(left + w, orr) - max(left, ol) > 0.5 * w
            if in_front and overlaps_x and ot < bottom:
                bottom = min(bottom, ot)
        if bottom <= t + 0.1 * h:
            return None, True
        if bottom >= t + h:
            return [0.0, 0.0, 0.0, 0.0], False
        return [left, t, w, bottom - t], True

    def _draw_walker(self, img: np.ndarray, walker: Walker, frame: int) -> None:
        left, t, w, h = walker.box(frame)
        ground = img[int(np.clip(walker.feet_y - 2, 0, HEIGHT - 1)),
                     int(np.clip(left + w / 2, 0, WIDTH - 1))].astype(np.float64)

        def tone(color):
            return tuple(float(c) for c in (np.array(color) * (1 - walker.faint)
                                            + ground * walker.faint))

        member_w = ASPECT * h
        for m in range(walker.members):
            cx = left + member_w / 2 + m * member_w * 0.75
            phase = 0.25 * (frame - walker.start) * abs(walker.speed) + m
            swing = np.sin(phase) * 0.12 * h
            head_r = max(1, int(0.075 * h))
            head = (int(cx), int(t + head_r + 1))
            hip_y = t + 0.52 * h
            sh_y = t + 0.18 * h
            thick = max(1, int(0.07 * h))
            # legs, torso, arms, head
            for sign in (-1, 1):
                cv2.line(img, (int(cx + sign * 0.05 * h), int(hip_y)),
                         (int(cx + sign * swing), int(t + h)),
                         tone(walker.trousers), max(1, int(0.08 * h)))
            cv2.rectangle(img, (int(cx - 0.13 * h), int(sh_y)),
                          (int(cx + 0.13 * h), int(hip_y)), tone(walker.shirt),
                          -1)
            for sign in (-1, 1):
                cv2.line(img, (int(cx + sign * 0.14 * h), int(sh_y + 2)),
                         (int(cx + sign * 0.16 * h - swing * sign * 0.5),
                          int(t + 0.5 * h)), tone(walker.shirt), thick)
            cv2.circle(img, head, head_r, tone(walker.skin), -1)

    @staticmethod
    def _draw_occluder(img: np.ndarray, occ: Occluder) -> None:
        left, t, r, b = occ.box
        if occ.kind == 'car':
            cv2.rectangle(img, (left, t + (b - t) // 3), (r, b - (b - t) // 6),
                          occ.color, -1)
            cv2.rectangle(img, (left + (r - left) // 5, t), (r - (r - left) // 5,
                                                        t + (b - t) // 3 + 1),
                          occ.color, -1)
            cv2.rectangle(img, (left + (r - left) // 5 + 4, t + 3),
                          (r - (r - left) // 5 - 4, t + (b - t) // 3 - 2),
                          (90, 80, 70), -1)
            for wx in (left + (r - left) // 5, r - (r - left) // 5):
                cv2.circle(img, (wx, b - (b - t) // 6), max(3, (b - t) // 6),
                           (20, 20, 20), -1)
        else:
            cv2.ellipse(img, ((left + r) // 2, (t + b) // 2),
                        ((r - left) // 2, (b - t) // 2), 0, 0, 360, occ.color, -1)


def write_demo_video(seq_path: str, vbb_path: str, seed: int, num_frames: int,
                     jpeg_quality: int = 90, **kwargs) -> int:
    """Render one video; returns the number of annotated objects over frames."""
    video = DemoVideo(seed, num_frames, **kwargs)
    jpegs, frames = [], []
    for i in range(num_frames):
        img, objects = video.render(i)
        ok, data = cv2.imencode('.jpg', img,
                                [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        if not ok:
            raise RuntimeError(f'{seq_path}: JPEG encoding failed at frame {i}')
        jpegs.append(data.tobytes())
        frames.append(objects)
    os.makedirs(osp.dirname(seq_path), exist_ok=True)
    os.makedirs(osp.dirname(vbb_path), exist_ok=True)
    write_seq(seq_path, jpegs, WIDTH, HEIGHT, fps=30.0)
    write_vbb(vbb_path, VbbAnnotation(num_frames, video.labels, frames))
    return sum(len(f) for f in frames)
