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
            img.load()  # decode fully: truncated files fail here
    except ImageRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        kind = "decompression_bomb" if "decompression" in type(e).__name__.lower() else "not_an_image"
        raise ImageRejected(kind, str(e)[:200]) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageRejected("corrupt_image", str(e)[:200]) from None
    if min(width, height) < checks.min_side:
        raise ImageRejected("too_small", f"{width}x{height}")
    if max(width, height) / max(1, min(width, height)) > checks.max_aspect:
        raise ImageRejected("extreme_aspect_ratio", f"{width}x{height}")
    phash = phash_hex(img)
    rgb = img.convert("RGB") if img.mode != "RGB" else img
    if checks.max_side and max(width, height) > checks.max_side:
        scale = checks.max_side / max(width, height)
        rgb = rgb.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)
    if checks.encode_format.upper() == "ORIGINAL" and rgb is img and fmt in ("JPEG", "PNG", "WEBP"):
        out, ext = data, {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
    else:
        fmt_out = "WEBP" if checks.encode_format.upper() == "WEBP" else "JPEG"
        buf = io.BytesIO()
        rgb.save(buf, format=fmt_out, quality=checks.quality)
        out, ext = buf.getvalue(), "webp" if fmt_out == "WEBP" else "jpg"
    return Processed(out, ext, rgb.width, rgb.height, width, height, fmt, hashlib.sha256(data).hexdigest(), phash)


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
