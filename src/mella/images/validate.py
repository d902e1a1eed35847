"""Decode and check image bytes with Pillow; convert, optionally resize and re-encode; hash.

Scoring is separate from deciding here too: ``inspect`` measures (size, frames, format), ``check``
applies the thresholds, and the caller gets a named reason for any rejection.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from mella.errors import NamedError

SUPPORTED = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}


class ImageRejected(NamedError):
    """An image that fails a check; ``kind`` names it (corrupt_image, too_small, decompression_bomb...)."""


@dataclass
class ImageChecks:
    min_side: int = 64
    max_aspect: float = 5.0
    max_pixels: int = 50_000_000  # declared width*height above this: decompression bomb
    allow_animated: bool = False
    max_side: int | None = 1024  # resize (keep aspect) so the longer side is at most this; None: keep
    encode_format: str = "JPEG"  # JPEG | WEBP | ORIGINAL (keep the bytes when no conversion is needed)
    quality: int = 90


@dataclass
class Processed:
    data: bytes
    ext: str
    width: int
    height: int
    orig_width: int
    orig_height: int
    orig_format: str
    sha256: str  # of the original bytes
    phash: str  # 16 hex digits (64-bit DCT hash, imagehash's algorithm)


def process(data: bytes, checks: ImageChecks) -> Processed:
    """Validated, converted image or ImageRejected with a named kind."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ImageRejected("empty_body")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size  # from the header, before any pixel is decoded
            if width * height > checks.max_pixels:
                raise ImageRejected("decompression_bomb", f"{width}x{height}")
            fmt = img.format or ""
            if fmt not in SUPPORTED:
                raise ImageRejected("unsupported_format", fmt)
            if getattr(img, "is_animated", False) and getattr(img, "n_frames", 1) > 1 and not checks.allow_animated:
                raise ImageRejected("animated", f"{img.n_frames} frames")
            if fmt == "JPEG" and checks.max_side and max(width, height) >= 2 * checks.max_side:
                # decode a large JPEG at a reduced scale (1/2 ... 1/8) that still covers max_side: a
                # fraction of the memory and time of a full decode, the same picture once resized
                scale = checks.max_side / max(width, height)
                img.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
            img.load()  # decode fully: truncated files fail here
            decoded_size = img.size
            img = upright(to_8bit(img))
            turned = img.size == decoded_size[::-1] and decoded_size[0] != decoded_size[1]
            converted = bool(img.info.get("mella_converted")) or decoded_size != (width, height)
            if turned:  # the size as shown (EXIF orientation 5-8 swaps the sides)
                width, height = height, width
    except ImageRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        kind = "decompression_bomb" if "decompression" in type(e).__name__.lower() else "not_an_image"
        raise ImageRejected(kind, str(e)[:200]) from None
    except MemoryError:
        raise ImageRejected("out_of_memory", "decoding") from None
    except Exception as e:  # noqa: BLE001 - decoders raise many types on hostile input (struct.error...)
        raise ImageRejected("corrupt_image", f"{type(e).__name__}: {str(e)[:200]}") from None
    if min(width, height) < checks.min_side:
        raise ImageRejected("too_small", f"{width}x{height}")
    if max(width, height) / max(1, min(width, height)) > checks.max_aspect:
        raise ImageRejected("extreme_aspect_ratio", f"{width}x{height}")
    phash = phash_hex(img)
    rgb = img.convert("RGB") if img.mode != "RGB" else img
    if checks.max_side and max(rgb.size) > checks.max_side:
        scale = checks.max_side / max(width, height)  # from the original size: the same result as a full decode
        rgb = rgb.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)
    if checks.encode_format.upper() == "ORIGINAL" and rgb is img and not converted and fmt in ("JPEG", "PNG", "WEBP"):
        out, ext = data, {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
    else:
        fmt_out = "WEBP" if checks.encode_format.upper() == "WEBP" else "JPEG"
        buf = io.BytesIO()
        rgb.save(buf, format=fmt_out, quality=checks.quality)
        out, ext = buf.getvalue(), "webp" if fmt_out == "WEBP" else "jpg"
    return Processed(out, ext, rgb.width, rgb.height, width, height, fmt, hashlib.sha256(data).hexdigest(), phash)


class PixelBudget:
    """At most ``capacity`` decoded pixels in flight across the fetch threads: 32 threads decoding 7000x7000
    photos at once would hold several GB. An image larger than the whole budget waits until it is alone."""

    def __init__(self, capacity: int):
        import threading

        self.capacity = max(1, capacity)
        self.used = 0
        self._cond = threading.Condition()

    def hold(self, pixels: int):
        import contextlib

        need = min(max(0, pixels), self.capacity)

        @contextlib.contextmanager
        def held():
            with self._cond:
                self._cond.wait_for(lambda: self.used + need <= self.capacity)
                self.used += need
            try:
                yield
            finally:
                with self._cond:
                    self.used -= need
                    self._cond.notify_all()

        return held()

    def __getstate__(self):  # a lock per process
        return {"capacity": self.capacity}

    def __setstate__(self, state):
        self.__init__(state["capacity"])


def declared_pixels(data: bytes) -> int:
    """width x height from the image header (nothing decoded); 0 when there is no readable header."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
        return width * height
    except Exception:  # noqa: BLE001 - any unreadable header: process() names the problem
        return 0


def to_8bit(img):
    """16-bit and 32-bit grey images (PNG "I;16", "I"; TIFF "F") scaled to 8 bits. Pillow's own convert
    clips them at 255: a 16-bit PNG came out almost white."""
    if img.mode not in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return img
    import numpy as np
    from PIL import Image

    arr = np.asarray(img, dtype=np.float64)
    if img.mode.startswith("I;16") or (img.mode == "I" and arr.max(initial=0) > 255):
        arr = arr / 257.0  # 0..65535 -> 0..255
    elif img.mode == "F" and arr.max(initial=0) <= 1.0:
        arr = arr * 255.0
    out = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")
    out.info["mella_converted"] = True
    return out


def upright(img):
    """The image turned as its EXIF orientation says (the tag is then removed: phones store photos sideways)."""
    from PIL import ImageOps

    orientation = img.getexif().get(0x0112, 1) if hasattr(img, "getexif") else 1
    if orientation in (None, 1):
        return img
    out = ImageOps.exif_transpose(img)
    out.info["mella_converted"] = True
    return out


def phash_hex(img) -> str:
    """imagehash.phash (hash_size 8, highfreq_factor 4) with numpy's DCT-II instead of scipy's."""
    import numpy as np
    from PIL import Image

    small = img.convert("L").resize((32, 32), Image.Resampling.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    dct = _dct_rows(_dct_rows(pixels.T).T)  # 2-D DCT-II (unnormalised, as scipy.fftpack.dct)
    low = dct[:8, :8]
    bits = (low > np.median(low)).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def _dct_rows(x):
    import numpy as np

    n = x.shape[-1]
    k = np.arange(n)
    basis = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))  # (n_freq, n_samples)
    return 2 * x @ basis.T


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")
