"""Write frames as ``.mp4`` (H.264) or ``.gif``, streaming and atomically.

:func:`write_video` takes a whole ``[N, H, W, 3|4]`` uint8 array or any iterable of frames
``[H, W, C]`` and/or chunks ``[n, H, W, C]``, so a long animation never sits in memory: frames go
to an ffmpeg process (the binary bundled with ``imageio-ffmpeg``) through a fixed pool of
``VideoConfig.queue_frames`` frame buffers and a feeder thread, while the caller renders the next
chunk.

* MP4: libx264, ``yuv420p`` (what every player decodes), CRF ``VideoConfig.crf``; yuv420p needs
  even sizes, so an odd width/height is padded by repeating the last column/row.
* GIF: ffmpeg's GIF encoder with one palette per frame (``palettegen=stats_mode=single`` +
  ``paletteuse=new=1``), so nothing needs the whole clip. Every frame is kept, identical
  neighbours included (Pillow's GIF writer would merge those). GIF delays are whole
  centiseconds: frame ``i`` starts at ``round(100 i / fps)`` cs, so the total duration matches
  ``fps``; ``fps`` above 50 is refused (browsers slow delays under 2 cs down to 10 cs).
* RGBA frames are composited over ``VideoConfig.background`` (opaque ones go to ffmpeg as they
  are, which drops the alpha channel).
* Atomic: the file is written to a temporary file with the same suffix in the same folder and
  renamed onto ``path`` only once ffmpeg succeeded and the frame count read back from the file
  equals the number of frames sent; on any error or Ctrl-C the temporary file is removed and
  ``path`` is untouched.
"""

from __future__ import annotations

import math
import os
import queue
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

VIDEO_SUFFIXES = (".mp4", ".gif")
MAX_FPS = 120.0  # mp4
MAX_GIF_FPS = 50.0  # a 2 cs delay; browsers turn shorter delays into 10 cs


@dataclass(frozen=True)
class VideoConfig:
    """Encoder settings of :func:`write_video`."""

    crf: int = 20  # mp4: x264 constant rate factor, 0 (lossless) .. 51; 18-23 is visually good
    preset: str = "veryfast"  # mp4: x264 speed preset (ultrafast .. veryslow)
    threads: int = 0  # mp4: x264 threads, 0 = ffmpeg's choice
    gif_dither: str = "bayer:bayer_scale=5"  # gif: ffmpeg paletteuse dither ("none" for flat colours)
    background: tuple[int, int, int] = (255, 255, 255)  # RGB under RGBA frames, 0..255
    queue_frames: int = 8  # frame buffers cycling between the caller and ffmpeg (memory bound)
    verify: bool = True  # read the frame count back from the written file before renaming it

    def __post_init__(self) -> None:
        if not (isinstance(self.crf, (int, np.integer)) and 0 <= self.crf <= 51):
            raise ValueError(f"crf {self.crf!r} is out of range, expected an integer 0..51")
        presets = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
        if self.preset not in presets:
            raise ValueError(f"preset {self.preset!r} is unknown, expected one of {', '.join(presets)}")
        if not (isinstance(self.threads, (int, np.integer)) and 0 <= self.threads <= 64):
            raise ValueError(f"threads {self.threads!r} is out of range, expected an integer 0..64")
        if not re.fullmatch(r"[a-z0-9_]+(:[a-z_]+=\d+)*", str(self.gif_dither)):
            raise ValueError(f"gif_dither {self.gif_dither!r} is not valid, expected an ffmpeg paletteuse dither "
                             "such as 'none', 'bayer:bayer_scale=5' or 'sierra2_4a'")
        if not (isinstance(self.queue_frames, (int, np.integer)) and 1 <= self.queue_frames <= 256):
            raise ValueError(f"queue_frames {self.queue_frames!r} is out of range, expected 1..256")
        bg = tuple(self.background)
        if len(bg) != 3 or not all(isinstance(c, (int, np.integer)) and 0 <= c <= 255 for c in bg):
            raise ValueError(f"background {self.background!r} is not an RGB triple of integers 0..255")


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`write_video` wrote."""

    path: Path
    frames: int
    fps: float
    width: int  # pixels, before mp4 padding to even sizes
    height: int


def check_video_args(path: str | os.PathLike, fps: float) -> Path:
    """Validate an output video path (existing writable folder, ``.mp4``/``.gif``) and ``fps``
    before any work starts; returns the path."""
    from kyara.fileio import check_output_path

    p = check_output_path(path, VIDEO_SUFFIXES)
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise ValueError(f"fps {fps!r} is not a number, expected frames per second > 0")
    fps = float(fps)
    top = MAX_GIF_FPS if p.suffix.lower() == ".gif" else MAX_FPS
    if not (math.isfinite(fps) and 0.0 < fps <= top):
        raise ValueError(f"fps {fps:g} is out of range for {p.suffix.lower()}, expected 0 < fps <= {top:g}")
    return p


# -- frames -----------------------------------------------------------------------------------
def iter_frames(frames) -> Iterator[np.ndarray]:
    """Single frames ``[H, W, C]`` out of an array ``[N, H, W, C]`` / ``[H, W, C]`` or an iterable
    of frames and chunks."""
    if isinstance(frames, np.ndarray):
        frames = [frames]
    for item in frames:
        a = np.asarray(item)
        if a.ndim == 4:
            yield from a
        else:
            yield a


def to_rgb(frame: np.ndarray, background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """``[H, W, 3]`` uint8 copy of an RGB or RGBA uint8 frame (RGBA composited over ``background``)."""
    if frame.shape[2] == 3:
        return np.array(frame, dtype=np.uint8, order="C", copy=True)
    return fill_frame(np.empty(frame.shape, np.uint8), frame, background)[..., :3].copy()


def fill_frame(dst: np.ndarray, frame: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """Copy ``frame [h, W, C]`` into the top-left of ``dst [H >= h, W' >= w, C]`` (same C), repeating
    the last column/row into any extra room; RGBA becomes opaque RGBA over ``background``."""
    h, w = frame.shape[:2]
    region = dst[:h, :w]
    if frame.shape[2] == 4 and frame[..., 3].min() != 255:
        a = frame[..., 3:4].astype(np.uint16)
        bg = np.asarray(background, dtype=np.uint16)
        region[..., :3] = (frame[..., :3].astype(np.uint16) * a + bg * (255 - a) + 127) // 255
        region[..., 3] = 255
    else:
        np.copyto(region, frame)
    if dst.shape[1] > w:
        dst[:h, w:] = dst[:h, w - 1:w]
    if dst.shape[0] > h:
        dst[h:] = dst[h - 1:h]
    return dst


def _check_frame(frame: np.ndarray, index: int, shape: tuple[int, ...] | None) -> None:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4) or 0 in frame.shape:
        raise ValueError(f"frame {index} has shape {frame.shape} dtype {frame.dtype}, "
                         "expected [H, W, 3] or [H, W, 4] uint8")
    if shape is not None and frame.shape != shape:
        raise ValueError(f"frame {index} has shape {frame.shape}, expected {shape} like frame 0")


# -- ffmpeg -----------------------------------------------------------------------------------
def _ffmpeg_command(out: Path, width: int, height: int, channels: int, fps: float, gif: bool,
                    cfg: VideoConfig) -> list[str]:
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error", "-nostdin",
           "-f", "rawvideo", "-pix_fmt", "rgba" if channels == 4 else "rgb24", "-s", f"{width}x{height}",
           "-framerate", repr(float(fps)), "-i", "pipe:0", "-an"]
    if gif:
        graph = (f"format=rgb24,split[a][b];[a]palettegen=stats_mode=single:reserve_transparent=0[p];"
                 f"[b][p]paletteuse=new=1:dither={cfg.gif_dither}")
        cmd += ["-filter_complex", graph, "-f", "gif", "-loop", "0"]
    else:
        cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", cfg.preset, "-crf", str(int(cfg.crf)),
                "-threads", str(int(cfg.threads)), "-movflags", "+faststart", "-f", "mp4"]
    # every input frame becomes one output frame (no drops/duplicates by the muxer's rate logic)
    cmd += ["-fps_mode", "passthrough", str(out)]
    return cmd


class _Encoder:
    """An ffmpeg process fed by a thread (pipe writes release the GIL, so the caller keeps
    rendering). Frames are copied into a fixed pool of ``pool`` buffers that cycle between the
    caller and the feeder: memory stays bounded and no fresh pages are touched per frame."""

    def __init__(self, cmd: list[str], shape: tuple[int, int, int], pool: int) -> None:
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.free: queue.Queue = queue.Queue()
        for _ in range(pool):
            self.free.put(np.empty(shape, np.uint8))
        self.full: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self._stderr = b""
        self._err_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_thread.start()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _read_stderr(self) -> None:
        self._stderr = self.proc.stderr.read()

    def _feed(self) -> None:
        try:
            while True:
                buf = self.full.get()
                if buf is None:
                    return
                self.proc.stdin.write(memoryview(buf).cast("B"))
                self.free.put(buf)
        except BaseException as exc:  # noqa: BLE001 - reported in the caller's thread
            self.error = exc
            self.free.put(None)  # wake a caller waiting for a buffer

    def buffer(self) -> np.ndarray:
        """A free frame buffer (waits while all are queued for ffmpeg)."""
        buf = self.free.get()
        if buf is None or self.error is not None:
            self._raise()
        return buf

    def put(self, buf: np.ndarray) -> None:
        self.full.put(buf)

    def finish(self) -> None:
        self.full.put(None)
        self._thread.join()
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        rc = self.proc.wait()
        self._err_thread.join()
        if rc != 0 or self.error is not None:
            self._raise(rc)

    def _raise(self, rc: int | None = None) -> None:
        if rc is None:
            try:
                rc = self.proc.wait(timeout=10.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            self._err_thread.join(timeout=5.0)
        msg = " ".join(self._stderr.decode("utf-8", "replace").split())[-300:]
        raise RuntimeError(f"ffmpeg failed (exit {rc}): {msg or self.error}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.full.put(None)
        self._thread.join(timeout=5.0)


def count_video_frames(path: str | os.PathLike) -> int:
    """Frames stored in a ``.gif`` (Pillow) or ``.mp4`` (ffmpeg decode) file."""
    p = Path(path)
    if p.suffix.lower() == ".gif":
        from PIL import Image

        with Image.open(p) as im:
            return int(im.n_frames)
    import imageio_ffmpeg

    return int(imageio_ffmpeg.count_frames_and_secs(str(p))[0])


def write_video(path: str | os.PathLike, frames, fps: float, config: VideoConfig | None = None,
                num_frames: int | None = None) -> VideoInfo:
    """Encode ``frames`` (``[N, H, W, 3|4]`` uint8, or an iterable of ``[H, W, C]`` frames and
    ``[n, H, W, C]`` chunks) at ``fps`` frames per second into ``path`` (``.mp4`` or ``.gif``).

    ``num_frames``, when given, is checked against the number of frames received. Raises
    ``ValueError`` for a bad path/fps/frame (before anything is written when the check can be
    made up front) and ``RuntimeError`` when ffmpeg fails; ``path`` then stays untouched.
    """
    from kyara.fileio import atomic_path

    cfg = config or VideoConfig()
    p = check_video_args(path, fps)
    gif = p.suffix.lower() == ".gif"
    count, shape = 0, None
    source = iter_frames(frames)
    try:
        with atomic_path(p) as tmp:
            enc = None
            try:
                for f in source:
                    _check_frame(f, count, shape)
                    if enc is None:
                        shape = f.shape
                        h, w, c = shape
                        ew, eh = (w, h) if gif else (w + w % 2, h + h % 2)  # yuv420p needs even sizes
                        enc = _Encoder(_ffmpeg_command(tmp, ew, eh, c, float(fps), gif, cfg), (eh, ew, c),
                                       cfg.queue_frames)
                    enc.put(fill_frame(enc.buffer(), f, cfg.background))
                    count += 1
                if enc is None:
                    raise ValueError("no frames to write, expected at least one")
                enc.finish()
            except BaseException:
                if enc is not None:
                    enc.kill()
                raise
            if num_frames is not None and count != num_frames:
                raise RuntimeError(f"got {count} frames, expected {num_frames}")
            if cfg.verify:
                back = count_video_frames(tmp)
                if back != count:
                    raise RuntimeError(f"'{p.name}' holds {back} frames after encoding, expected {count}")
    finally:
        close = getattr(frames, "close", None)  # a generator releases its resources now, not at GC
        if close is not None:
            close()
    return VideoInfo(p, count, float(fps), int(shape[1]), int(shape[0]))


def write_video_reference(path: str | os.PathLike, frames: np.ndarray, fps: float) -> Path:
    """Slow, obvious reference of :func:`write_video` for tests: imageio's own writers, whole
    array in memory, not atomic (GIF via Pillow, which merges identical neighbouring frames)."""
    import imageio.v2 as iio

    arr = np.stack([to_rgb(f) for f in iter_frames(frames)])
    p = Path(path)
    if p.suffix.lower() == ".gif":
        iio.mimsave(p, list(arr), duration=1000.0 / fps, loop=0)
    else:
        iio.mimsave(p, list(arr), fps=fps, codec="libx264", macro_block_size=2)
    return p
