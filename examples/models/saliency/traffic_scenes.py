#!/usr/bin/python3
"""Procedural driving sequences for ternary traffic-light classification.

Each sequence is a short clip from a forward-facing camera driving towards an
intersection. A pinhole camera (focal length 0.86 W, horizon at 0.47 H, height
1.4 m) looks along a straight road of 2-4 lanes of 3.5 m; the camera is in the
ego lane, drifts sideways by up to 0.5 m and bumps up and down by a pixel. Most
roads bend (so the ego lane's lights are not simply in the image centre). The
scene holds buildings with windows along both sides, a sky, cars (with tail
lights, a red distractor low in the image), red round and green roadside signs,
green street-name signs on mast arms, lane markings whose dashes move with the
ego speed, and 1-4 traffic lights:

- relevant lights hang from a mast arm over the ego lane (one head, or two heads
  side by side) and all show the same signal;
- distractor lights hang over neighbouring lanes with their own signal, or stand
  at the corners facing the cross street (seen from the side: a narrow housing
  with a sliver of its lit lamp).

Signals switch often (red 2-5 frames, green 2-5 frames, amber 1-2 frames between
green and red), so that a prediction held for 1-3 frames is often wrong. Lights
come into view at VIEW_RANGE metres (as from around a bend) and leave through the
top of the frame when the car passes under them. Lighting is day, dusk or night
(sky colour, global brightness, emissive lamps that keep their brightness), with
per-frame exposure flicker, Gaussian sensor noise and sometimes a slight blur.

Label of a frame: 0 "relevant red" if a relevant light is in view showing red or
amber (amber means stop, like red), 1 "all relevant green" if relevant lights
are in view and all show green, 2 "no relevant light" otherwise. A light is in
view when its lit lamp's centre is inside the frame.

render_split(split, seed) is deterministic: every sequence has its own generator
seeded from (split, seed, index), and the splits use disjoint seeds.
"""

import math
from dataclasses import dataclass

import numpy as np

WIDTH, HEIGHT = 256, 128
SEQUENCE_LENGTH = 24
SPLIT_SIZES = {"train": 1260, "val": 50, "test": 60}  # sequences per split
SPLIT_CODES = {"train": 11, "val": 23, "test": 37}  # part of every sequence's seed
LABELS = ("relevant red", "all relevant green", "no relevant light")

LANE_WIDTH = 3.5
CAMERA_HEIGHT = 1.4
VIEW_RANGE = 40.0  # metres: lights further away are not in view
LAMP_DIAMETER = 0.55
LAMP_PITCH = 0.62  # vertical distance between lamp centres
HOUSING_W, HOUSING_H = 0.75, 1.95
RED, AMBER, GREEN = 0, 1, 2
LAMP_COLOURS = np.array([[255, 45, 35], [255, 175, 20], [50, 255, 130]], dtype=np.float32)


@dataclass
class Sequence:
    frames: np.ndarray  # uint8 [T, H, W, 3], RGB
    labels: np.ndarray  # int64 [T]


@dataclass
class Light:
    x: float  # world lateral position of the housing centre
    y: float  # height of the housing centre
    z: float  # distance at frame 0
    relevant: bool
    side_facing: bool
    states: np.ndarray  # [T] RED/AMBER/GREEN
    street_sign: float = 0.0  # lateral offset of a green street-name sign on the mast arm (0: none)


class Camera:
    """Pinhole camera looking along the road; x is lateral to the road, which bends by curvature * z^2 / 2."""

    def __init__(self, width, height, x, pitch_px, curvature):
        self.focal = 0.86 * width
        self.cx = width / 2.0
        self.horizon = 0.47 * height + pitch_px
        self.x = x
        self.curvature = curvature

    def bend(self, z):
        """Sideways offset of the road at distance z (the camera heads along the road's tangent)."""
        return 0.5 * self.curvature * z * z

    def project(self, x, y, z):
        return self.project_straight(x + self.bend(z), y, z)

    def project_straight(self, x, y, z):
        return (self.cx + self.focal * (x - self.x) / z, self.horizon + self.focal * (CAMERA_HEIGHT - y) / z)


def signal_timeline(rng, length):
    """States per frame: red and green dwell 2-5 frames, amber 1-2 frames between green and red."""
    states = []
    state = rng.choice([RED, GREEN])
    while len(states) < length:
        if state == AMBER:
            dwell, following = int(rng.integers(1, 3)), RED
        elif state == RED:
            dwell, following = int(rng.integers(2, 6)), GREEN
        else:
            dwell, following = int(rng.integers(2, 6)), AMBER if rng.random() < 0.5 else RED
        states += [state] * dwell
        state = following
    offset = int(rng.integers(0, 3))  # do not start every clip on a switch
    return np.array(states[offset:] + [state] * offset, dtype=np.int64)[:length]


def paint_rect(image, x0, y0, x1, y1, colour, alpha=1.0):
    """Fill [x0,x1) x [y0,y1) (float pixel bounds) with fractional coverage at the edges."""
    h, w, _ = image.shape
    ix0, iy0 = max(int(math.floor(x0)), 0), max(int(math.floor(y0)), 0)
    ix1, iy1 = min(int(math.ceil(x1)), w), min(int(math.ceil(y1)), h)
    if ix0 >= ix1 or iy0 >= iy1:
        return
    xs = np.arange(ix0, ix1, dtype=np.float32)
    ys = np.arange(iy0, iy1, dtype=np.float32)
    cover_x = np.clip(np.minimum(xs + 1, x1) - np.maximum(xs, x0), 0, 1)
    cover_y = np.clip(np.minimum(ys + 1, y1) - np.maximum(ys, y0), 0, 1)
    a = (cover_y[:, None] * cover_x[None, :] * alpha)[..., None]
    region = image[iy0:iy1, ix0:ix1]
    region *= 1 - a
    region += a * np.asarray(colour, dtype=np.float32)


def paint_disc(image, cx, cy, radius, colour, alpha=1.0):
    h, w, _ = image.shape
    ix0, iy0 = max(int(cx - radius - 1), 0), max(int(cy - radius - 1), 0)
    ix1, iy1 = min(int(cx + radius + 2), w), min(int(cy + radius + 2), h)
    if ix0 >= ix1 or iy0 >= iy1:
        return
    xs = np.arange(ix0, ix1, dtype=np.float32) + 0.5
    ys = np.arange(iy0, iy1, dtype=np.float32) + 0.5
    dist = np.sqrt((xs[None, :] - cx) ** 2 + (ys[:, None] - cy) ** 2)
    a = (np.clip(radius + 0.5 - dist, 0, 1) * alpha)[..., None]
    region = image[iy0:iy1, ix0:ix1]
    region *= 1 - a
    region += a * np.asarray(colour, dtype=np.float32)


class SceneLayout:
    """Everything about one sequence that does not change from frame to frame."""

    def __init__(self, rng, length):
        self.length = length
        self.lanes = int(rng.integers(2, 5))
        self.ego_lane = int(rng.integers(0, self.lanes))
        # World x = 0 is the centre of the ego lane.
        self.road_left = -LANE_WIDTH * (self.ego_lane + 0.5)
        self.road_right = self.road_left + self.lanes * LANE_WIDTH
        self.speed = rng.uniform(0.35, 0.9)  # metres per frame
        # Bends move the ego lane's lights away from the image centre: relevance needs the lane lines.
        self.curvature = rng.uniform(-0.007, 0.007) if rng.random() < 0.7 else 0.0
        self.drift_amplitude = rng.uniform(0.0, 0.5)
        self.drift_period = rng.uniform(12, 40)
        self.drift_phase = rng.uniform(0, 2 * math.pi)
        self.bump = rng.uniform(0.0, 1.2)
        self.dash_phase = rng.uniform(0, 9)

        lighting = rng.choice(["day", "dusk", "night"], p=[0.5, 0.3, 0.2])
        self.brightness = {"day": rng.uniform(0.8, 1.15), "dusk": rng.uniform(0.45, 0.7), "night": rng.uniform(0.2, 0.35)}[
            lighting
        ]
        sky_top = {"day": (70, 130, 215), "dusk": (70, 60, 120), "night": (10, 14, 35)}[lighting]
        sky_low = {"day": (175, 205, 235), "dusk": (235, 140, 80), "night": (40, 40, 60)}[lighting]
        self.sky_top = np.array(sky_top, np.float32) * rng.uniform(0.85, 1.1, 3)
        self.sky_low = np.array(sky_low, np.float32) * rng.uniform(0.85, 1.1, 3)
        self.road_colour = np.array([85, 85, 90], np.float32) * rng.uniform(0.7, 1.2)
        self.verge_colour = rng.choice([[120, 120, 115], [70, 110, 55], [140, 130, 110]]).astype(np.float32)
        self.noise_sigma = rng.uniform(1.5, 6.0) / max(self.brightness, 0.5)
        self.blur = rng.random() < 0.3

        self.buildings = []
        for side in (-1, 1):
            z = rng.uniform(4, 10)
            while z < 140:
                depth = rng.uniform(8, 25)
                edge = self.road_left if side < 0 else self.road_right
                self.buildings.append(
                    dict(
                        x=edge + side * rng.uniform(2.5, 7),
                        z0=z,
                        z1=z + depth,
                        height=rng.uniform(6, 22),
                        colour=rng.uniform(60, 200, 3).astype(np.float32),
                        window=rng.uniform(20, 90, 3).astype(np.float32),
                        lit_windows=lighting != "day",
                    )
                )
                z += depth + rng.uniform(0, 6)

        self.cars = []
        for _ in range(int(rng.integers(0, 5))):
            lane = int(rng.integers(0, self.lanes)) - self.ego_lane
            self.cars.append(
                dict(
                    x=lane * LANE_WIDTH + rng.uniform(-0.4, 0.4),
                    z=rng.uniform(8, 45),
                    speed=rng.uniform(-0.3, 0.3) if lane != 0 else rng.uniform(0.0, 0.4),
                    colour=rng.uniform(30, 230, 3).astype(np.float32),
                    braking=rng.random() < 0.4,
                )
            )

        self.lights = self._place_lights(rng)
        self.signs = []  # roadside signs on poles: red round "no entry" or green direction boards
        for _ in range(int(rng.integers(0, 4))):
            side = self.road_left - 0.8 if rng.random() < 0.5 else self.road_right + 0.8
            self.signs.append(dict(x=side, y=rng.uniform(2.2, 3.5), z=rng.uniform(8, 50), red=rng.random() < 0.5))

    def _place_lights(self, rng):
        t = self.length
        # The intersection may be in view from the start, or come into view during the clip.
        z_stop = rng.uniform(16.0, VIEW_RANGE + 0.3 * t * self.speed)
        lights = []
        has_relevant = rng.random() < 0.8
        if has_relevant:
            states = signal_timeline(rng, t)
            if rng.random() < 0.3:
                offsets = [-0.95, 0.95]
            else:
                offsets = [rng.uniform(-0.5, 0.5)]
            y = rng.uniform(4.8, 5.6)
            for dx in offsets:
                lights.append(Light(dx, y, z_stop, True, False, states, self._street_sign(rng)))
        other_lanes = [i - self.ego_lane for i in range(self.lanes) if i != self.ego_lane]
        # Distractors: lights over other lanes (at the same stop line or another one), corner lights.
        count = int(rng.integers(1 if not has_relevant else 0, 3))
        for _ in range(count):
            if other_lanes and rng.random() < 0.7:
                lane = other_lanes[int(rng.integers(0, len(other_lanes)))]
                z = z_stop if rng.random() < 0.6 else rng.uniform(13.0, VIEW_RANGE + 0.5 * t * self.speed)
                lights.append(
                    Light(lane * LANE_WIDTH + rng.uniform(-0.5, 0.5), rng.uniform(4.8, 5.6), z, False, False,
                          signal_timeline(rng, t), self._street_sign(rng))
                )
            else:
                edge = self.road_left - 1.0 if rng.random() < 0.5 else self.road_right + 1.0
                lights.append(Light(edge, rng.uniform(2.8, 4.0), z_stop + rng.uniform(0, 6), False, True,
                                    signal_timeline(rng, t)))
        return lights

    @staticmethod
    def _street_sign(rng):
        """Green signs and red round signs near the lights: colour alone does not find a lamp."""
        return rng.choice([-1.6, 1.6]) if rng.random() < 0.5 else 0.0

    def camera(self, frame):
        drift = self.drift_amplitude * math.sin(2 * math.pi * frame / self.drift_period + self.drift_phase)
        pitch = self.bump * math.sin(frame * 2.3 + self.drift_phase)
        return drift, pitch


class Renderer:
    def __init__(self, width, height):
        self.width, self.height = width, height
        self.xs = np.arange(width, dtype=np.float32) + 0.5
        self.ys = np.arange(height, dtype=np.float32) + 0.5

    def frame(self, layout, index, rng):
        w, h = self.width, self.height
        drift, pitch = layout.camera(index)
        cam = Camera(w, h, drift, pitch, layout.curvature)
        travelled = layout.speed * index
        image = np.empty((h, w, 3), np.float32)

        # Sky: vertical gradient down to the horizon.
        t = np.clip(self.ys / max(cam.horizon, 1.0), 0, 1)[:, None]
        image[:] = (layout.sky_top * (1 - t) + layout.sky_low * t)[:, None, :]

        # Ground plane below the horizon: verge, road, lane markings.
        rows = self.ys > cam.horizon + 0.5
        ys = self.ys[rows]
        z = cam.focal * CAMERA_HEIGHT / (ys - cam.horizon)  # [R]
        x_world = cam.x + (self.xs[None, :] - cam.cx) * z[:, None] / cam.focal - cam.bend(z)[:, None]  # [R, W]
        ground = np.empty((len(ys), w, 3), np.float32)
        ground[:] = layout.verge_colour
        on_road = (x_world >= layout.road_left) & (x_world <= layout.road_right)
        ground[on_road] = layout.road_colour
        px_per_m = cam.focal / z[:, None]
        marking = np.zeros_like(x_world)
        for i in range(layout.lanes + 1):
            boundary = layout.road_left + i * LANE_WIDTH
            cover = np.clip(0.5 + 0.075 * px_per_m - np.abs(x_world - boundary) * px_per_m, 0, 1)
            if 0 < i < layout.lanes:  # dashed inner lines: 3 m dash, 6 m gap, moving with the car
                dashed = ((z[:, None] + travelled + layout.dash_phase) % 9.0) < 3.0
                cover = cover * dashed
            marking = np.maximum(marking, cover)
        ground += marking[..., None] * (np.array([225, 225, 215], np.float32) - ground)
        haze = np.clip(z / 120.0, 0, 0.6)[:, None, None]  # distant ground fades into the sky colour
        ground = ground * (1 - haze) + layout.sky_low * haze
        image[rows] = ground

        # Building facades: vertical planes parallel to the road, far to near.
        for b in sorted(layout.buildings, key=lambda b: -b["z0"]):
            self._facade(image, cam, b, travelled)

        # Cars, far to near.
        cars = [(c["z"] + c["speed"] * index - travelled, c) for c in layout.cars]
        for zc, c in sorted(cars, key=lambda item: -item[0]):
            if zc > 2.5:
                self._car(image, cam, c, zc)

        for sign in sorted(layout.signs, key=lambda sg: -sg["z"]):
            zs = sign["z"] - travelled
            if 1.5 < zs < 60:
                self._sign(image, cam, sign, zs)

        image *= layout.brightness * rng.uniform(0.97, 1.03)

        # Traffic lights after the exposure: lamps are emissive.
        for light in sorted(layout.lights, key=lambda l: -(l.z - travelled)):
            zl = light.z - travelled
            if 1.0 < zl <= VIEW_RANGE:
                self._light(image, cam, layout, light, zl, light.states[index])

        if layout.blur:
            image[1:-1] = 0.25 * image[:-2] + 0.5 * image[1:-1] + 0.25 * image[2:]
            image[:, 1:-1] = 0.25 * image[:, :-2] + 0.5 * image[:, 1:-1] + 0.25 * image[:, 2:]
        image += rng.normal(0, layout.noise_sigma, image.shape).astype(np.float32)
        return np.clip(image + 0.5, 0, 255).astype(np.uint8), self._label(cam, layout, travelled, index)

    def _label(self, cam, layout, travelled, index):
        visible_states = []
        for light in layout.lights:
            zl = light.z - travelled
            if not light.relevant or not (1.0 < zl <= VIEW_RANGE):
                continue
            state = light.states[index]
            lamp_y = light.y + LAMP_PITCH * (1 - state)  # red on top, green at the bottom
            u, v = cam.project(light.x, lamp_y, zl)
            if 0 <= u < self.width and 0 <= v < self.height:
                visible_states.append(state)
        if not visible_states:
            return 2
        return 0 if any(s != GREEN for s in visible_states) else 1

    def _facade(self, image, cam, b, travelled):
        """A facade along a bend, as straight pieces of 4 m (one piece beyond 60 m, where it is small)."""
        z0, z1 = max(b["z0"] - travelled, 1.5), b["z1"] - travelled
        if z1 <= z0:
            return
        cuts = list(np.arange(z0, min(z1, 60.0), 4.0)) + [min(z1, 60.0)] if z0 < 60.0 else [z0]
        if z1 > 60.0:
            cuts.append(z1)
        for za, zb in reversed(list(zip(cuts[:-1], cuts[1:]))):
            if zb > za:
                self._facade_piece(image, cam, b, b["x"] + cam.bend(0.5 * (za + zb)), za, zb, travelled)

    def _facade_piece(self, image, cam, b, x, z0, z1, travelled):
        u0, _ = cam.project_straight(x, 0, z0)
        u1, _ = cam.project_straight(x, 0, z1)
        lo, hi = sorted((u0, u1))
        c0, c1 = max(int(lo), 0), min(int(math.ceil(hi)), self.width)
        if c0 >= c1:
            return
        cols = self.xs[c0:c1]
        dx = cols - cam.cx
        with np.errstate(divide="ignore"):
            z = cam.focal * (x - cam.x) / dx
        valid = (z >= z0) & (z <= z1)
        z = np.where(valid, z, z1)
        top = cam.horizon + cam.focal * (CAMERA_HEIGHT - b["height"]) / z
        bottom = cam.horizon + cam.focal * CAMERA_HEIGHT / z
        ys = self.ys[:, None]
        inside = valid[None, :] & (ys >= top[None, :]) & (ys <= bottom[None, :])
        if not inside.any():
            return
        height_m = CAMERA_HEIGHT - (ys - cam.horizon) * z[None, :] / cam.focal  # world height per pixel
        along = z[None, :] + travelled
        window = ((height_m % 3.2) > 1.1) & ((height_m % 3.2) < 2.4) & ((along % 3.0) > 1.0) & (height_m > 2.5)
        colour = np.where(window[..., None], b["window"], b["colour"])
        if b["lit_windows"]:
            lit = window & (((np.floor(along / 3.0) * 7 + np.floor(height_m / 3.2) * 3) % 5) < 1.5)
            colour = np.where(lit[..., None], np.array([255, 220, 150], np.float32) * 1.6, colour)
        haze = np.clip(z / 160.0, 0, 0.5)[None, :, None]
        region = image[:, c0:c1]
        region[inside] = (colour * (1 - haze) + 150 * haze)[inside]

    def _car(self, image, cam, c, z):
        u0, v_bottom = cam.project(c["x"] - 0.9, 0.0, z)
        u1, v_top = cam.project(c["x"] + 0.9, 1.45, z)
        paint_rect(image, u0, v_top, u1, v_bottom, c["colour"])
        _, v_window = cam.project(0, 1.05, z)
        scale = cam.focal / z
        paint_rect(image, u0 + 0.2 * scale, v_top + 0.1 * scale, u1 - 0.2 * scale, v_window, (30, 35, 40))
        _, v_tail = cam.project(0, 0.85, z)
        tail = np.array([200, 20, 20] if c["braking"] else [120, 15, 15], np.float32)
        for side in (u0 + 0.05 * scale, u1 - 0.3 * scale):
            paint_rect(image, side, v_tail, side + 0.25 * scale, v_tail + 0.15 * scale, tail)

    def _sign(self, image, cam, sign, z):
        scale = cam.focal / z
        u, v = cam.project(sign["x"], sign["y"], z)
        _, v_ground = cam.project(sign["x"], 0, z)
        paint_rect(image, u - 0.04 * scale, v, u + 0.04 * scale, v_ground, (90, 90, 90))
        if sign["red"]:
            paint_disc(image, u, v, 0.35 * scale, (200, 25, 25))
            paint_rect(image, u - 0.22 * scale, v - 0.06 * scale, u + 0.22 * scale, v + 0.06 * scale, (235, 235, 235))
        else:
            paint_rect(image, u - 0.6 * scale, v - 0.35 * scale, u + 0.6 * scale, v + 0.35 * scale, (20, 120, 60))
            paint_rect(image, u - 0.45 * scale, v - 0.1 * scale, u + 0.4 * scale, v + 0.02 * scale, (220, 230, 220))

    def _light(self, image, cam, layout, light, z, state):
        scale = cam.focal / z
        u, v = cam.project(light.x, light.y, z)
        dark = (25, 25, 28)
        # Mast arm to the nearer road edge (overhead lights) or pole down to the ground (corner lights).
        if light.side_facing:
            _, v_ground = cam.project(light.x, 0, z)
            paint_rect(image, u - 0.06 * scale, v, u + 0.06 * scale, v_ground, (60, 60, 60))
        else:
            edge = layout.road_left - 0.5 if light.x < 0.5 * (layout.road_left + layout.road_right) else layout.road_right + 0.5
            ue, _ = cam.project(edge, 0, z)
            _, v_arm = cam.project(0, light.y + 0.5 * HOUSING_H + 0.15, z)
            lo, hi = sorted((u, ue))
            paint_rect(image, lo, v_arm - 0.08 * scale, hi, v_arm + 0.08 * scale, (60, 60, 60))
            _, v_ground = cam.project(edge, 0, z)
            paint_rect(image, ue - 0.1 * scale, v_arm, ue + 0.1 * scale, v_ground, (60, 60, 60))
            if light.street_sign:
                us, _ = cam.project(light.x + light.street_sign, 0, z)
                top = v_arm + 0.08 * scale
                paint_rect(image, us - 0.7 * scale, top, us + 0.7 * scale, top + 0.45 * scale, (25, 125, 65))
                paint_rect(image, us - 0.5 * scale, top + 0.17 * scale, us + 0.45 * scale, top + 0.28 * scale,
                           (225, 235, 225))
        half_w = (0.15 if light.side_facing else 0.5 * HOUSING_W) * scale
        half_h = 0.5 * HOUSING_H * scale
        paint_rect(image, u - half_w, v - half_h, u + half_w, v + half_h, dark)
        for lamp in (RED, AMBER, GREEN):
            _, lv = cam.project(0, light.y + LAMP_PITCH * (1 - lamp), z)
            lit = lamp == state
            colour = LAMP_COLOURS[lamp] * (0.8 + 0.2 * layout.brightness)
            if light.side_facing:
                if lit:  # only a sliver of the lamp shows from the side
                    paint_rect(image, u + 0.05 * scale, lv - 0.2 * scale, u + 0.13 * scale, lv + 0.2 * scale, colour, 0.6)
                continue
            radius = 0.5 * LAMP_DIAMETER * scale
            if lit:
                paint_disc(image, u, lv, radius * 1.7, colour, 0.3)  # glow
                paint_disc(image, u, lv, radius, colour)
            else:
                paint_disc(image, u, lv, radius, colour * 0.18 + 20)


def render_sequence(rng, length=SEQUENCE_LENGTH, width=WIDTH, height=HEIGHT):
    layout = SceneLayout(rng, length)
    renderer = Renderer(width, height)
    frames = np.empty((length, height, width, 3), np.uint8)
    labels = np.empty(length, np.int64)
    for i in range(length):
        frames[i], labels[i] = renderer.frame(layout, i, rng)
    return Sequence(frames, labels)


def sequence_generator(split, seed, index):
    """The generator that renders sequence `index` of a split: disjoint seeds per split, one per sequence."""
    if split not in SPLIT_SIZES:
        raise ValueError(f"unknown split '{split}' (known: {', '.join(SPLIT_SIZES)})")
    return np.random.default_rng([SPLIT_CODES[split], seed, index])


def _render_one(key):
    split, seed, index = key
    return render_sequence(sequence_generator(split, seed, index))


def render_split(split, seed=0, workers=1):
    """The split's sequences ("train", "val" or "test"); the same for the same split and seed, whatever the workers."""
    count = SPLIT_SIZES.get(split, 1)  # an unknown split fails in sequence_generator
    keys = [(split, seed, index) for index in range(count)]
    if workers <= 1:
        return [_render_one(key) for key in keys]
    import multiprocessing

    with multiprocessing.Pool(workers) as pool:  # every sequence has its own generator: order-independent
        return pool.map(_render_one, keys, chunksize=8)


def main():
    import argparse
    import time

    parser = argparse.ArgumentParser(description="render a split and print its class balance; optionally save frames")
    parser.add_argument("--split", default="val")
    parser.add_argument("--png", help="write a contact sheet of the first sequences to this PNG")
    args = parser.parse_args()
    start = time.time()
    sequences = render_split(args.split)
    elapsed = time.time() - start
    labels = np.concatenate([s.labels for s in sequences])
    switches = np.mean(np.concatenate([s.labels[1:] != s.labels[:-1] for s in sequences]))
    print(f"{args.split}: {len(sequences)} sequences, {len(labels)} frames in {elapsed:.1f} s; "
          f"classes {np.bincount(labels, minlength=3).tolist()}; label changes between frames {switches:.2f}")
    if args.png:
        from PIL import Image

        rows = [np.concatenate(list(s.frames[::4]), axis=1) for s in sequences[:8]]
        Image.fromarray(np.concatenate(rows, axis=0)).save(args.png)


if __name__ == "__main__":
    main()
