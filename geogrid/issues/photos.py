"""Photos of issues: checked, cleaned, thumbnailed and stored on disk.

:func:`process_photo` takes the uploaded bytes and either raises or returns a cleaned
image:

- larger than ``max_bytes``: :class:`PhotoTooLargeError` (HTTP 413);
- not a JPEG, PNG or WebP *by content* (the file name and the declared type are
  ignored): :class:`~geogrid.errors.InputError`;
- more than ``max_pixels`` pixels (a decompression bomb: a small file that would
  expand to gigabytes): :class:`PhotoTooLargeError`, before the pixels are decoded;
- truncated or corrupt: :class:`~geogrid.errors.InputError`.

The stored image is re-encoded from its pixels, after turning it upright by its EXIF
orientation, so no metadata survives: no EXIF (GPS position, camera serial, time), no
XMP, no PNG text chunks.  A JPEG thumbnail of at most ``thumb_px`` pixels a side is made.
Files live under ``<data_dir>/issues/photos/``; :func:`store_photo` writes to a
temporary name and renames, so a failure leaves no half file.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from geogrid.errors import InputError

__all__ = ["ProcessedPhoto", "PhotoTooLargeError", "process_photo", "store_photo",
           "delete_photo_files", "photo_root", "ALLOWED_FORMATS",
           "DEFAULT_MAX_BYTES", "DEFAULT_MAX_PIXELS", "DEFAULT_THUMB_PX"]

ALLOWED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
                   "WEBP": ("image/webp", "webp")}
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo passes; bombs do not
DEFAULT_THUMB_PX = 320


class PhotoTooLargeError(InputError):
    """A photo over the byte or pixel limit (HTTP 413)."""


@dataclass(frozen=True)
class ProcessedPhoto:
    content: bytes
    thumbnail: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str


def process_photo(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES,
                  max_pixels: int = DEFAULT_MAX_PIXELS,
                  thumb_px: int = DEFAULT_THUMB_PX) -> ProcessedPhoto:
    """Check and clean an uploaded photo (see the module docstring)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise InputError("the upload is empty; attach a JPEG, PNG or WebP photo", key="photo.empty")
    if len(data) > max_bytes:
        raise PhotoTooLargeError(
            f"the photo is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB: "
            "send a smaller or more compressed photo", key="photo.too_large",
            params={"mb": round(len(data) / 1e6, 1), "limit_mb": round(max_bytes / 1e6, 1)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # formats= restricts the decoders Pillow tries: the type is checked by content
            im = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
        except UnidentifiedImageError:
            raise InputError("the upload is not a JPEG, PNG or WebP image; send a photo",
                             key="photo.not_image") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoTooLargeError("the image has too many pixels (a decompression bomb?); "
                                     "send an ordinary photo", key="photo.too_many_pixels") from None
        except Exception as exc:
            raise InputError(f"the image cannot be read ({exc}); send another photo",
                             key="photo.unreadable") from None
        width, height = im.size
        if width <= 0 or height <= 0 or width * height > max_pixels:
            raise PhotoTooLargeError(
                f"the image is {width} x {height} pixels; the limit is {max_pixels:,} pixels: "
                "send a smaller photo", key="photo.too_many_pixels",
                params={"width": width, "height": height, "limit": max_pixels})
        fmt = im.format
        try:
            im.load()
            im = ImageOps.exif_transpose(im)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoTooLargeError("the image has too many pixels; send an ordinary photo",
                                     key="photo.too_many_pixels") from None
        except Exception as exc:
            raise InputError(f"the image is truncated or corrupt ({exc}); send it again",
                             key="photo.unreadable") from None
    content_type, ext = ALLOWED_FORMATS[fmt]
    clean = _pixels_only(im, fmt)
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=88, optimize=True)
    elif fmt == "PNG":
        clean.save(out, "PNG", optimize=True)
    else:
        clean.save(out, "WEBP", quality=85)
    content = out.getvalue()
    thumb = clean.convert("RGB") if clean.mode not in ("RGB", "L") else clean.copy()
    thumb.thumbnail((thumb_px, thumb_px))
    tout = io.BytesIO()
    thumb.save(tout, "JPEG", quality=80)
    return ProcessedPhoto(content=content, thumbnail=tout.getvalue(), content_type=content_type,
                          extension=ext, width=clean.width, height=clean.height,
                          sha256=hashlib.sha256(content).hexdigest())


def _pixels_only(im, fmt: str):
    """A new image with the pixels of ``im`` and nothing else (no info, no EXIF)."""
    from PIL import Image

    mode = im.mode
    if fmt == "JPEG" and mode not in ("RGB", "L", "CMYK"):
        mode = "RGB"
    elif mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        mode = "RGBA" if "A" in mode else "RGB"
    src = im.convert(mode) if mode != im.mode else im
    clean = Image.new(src.mode, src.size)
    if src.mode == "P":
        clean.putpalette(src.getpalette())
    clean.paste(src)
    return clean


def photo_root(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "issues" / "photos"


def store_photo(data_dir: str | os.PathLike, issue_id: str, photo_id: str,
                photo: ProcessedPhoto) -> tuple[str, str]:
    """Write the photo and its thumbnail; returns their paths relative to ``data_dir``."""
    root = Path(data_dir)
    folder = photo_root(root) / issue_id[:2] / issue_id
    folder.mkdir(parents=True, exist_ok=True)
    main = folder / f"{photo_id}.{photo.extension}"
    thumb = folder / f"{photo_id}.thumb.jpg"
    for path, content in ((main, photo.content), (thumb, photo.thumbnail)):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    return str(main.relative_to(root)), str(thumb.relative_to(root))


def delete_photo_files(data_dir: str | os.PathLike, *relative: str | None) -> None:
    """Remove stored files (used when the transaction that recorded them fails)."""
    for rel in relative:
        if rel:
            _unlink(Path(data_dir) / rel)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
