"""Turn an uploaded file into clean photos: really an image, upright, no metadata. Pure logic.

A phone photo carries GPS position, device serial numbers and times in its EXIF block; none of
that may travel further. We decode the pixels, apply the EXIF orientation, and re-encode only the
pixels, so nothing from the original file survives but the picture itself.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
DERIVATIVE_EDGES = {"screen": 1600, "thumb": 320}


class PhotoRejected(ValueError):
    """The file cannot be used as a photo; the message tells the sender what to do."""


@dataclass(frozen=True)
class Rendition:
    name: str
    content: bytes
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedPhoto:
    full: Rendition
    screen: Rendition
    thumb: Rendition
    sha256: str


def process_upload(
    stream: BinaryIO, *, max_bytes: int, max_pixels: int, long_edge: int
) -> ProcessedPhoto:
    """Validate and clean one uploaded photo, or raise PhotoRejected with a reason."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PhotoRejected(
            _("The photo is larger than %(mb)d MB. Take it again at a lower resolution.")
            % {"mb": max_bytes // (1024 * 1024)}
        )
    if not data:
        raise PhotoRejected(_("The file is empty."))
    image = _decode(data, max_pixels=max_pixels)
    image = ImageOps.exif_transpose(image)
    image = _to_srgb(image)
    full = _render(image, "full", long_edge, quality=90)
    return ProcessedPhoto(
        full=full,
        screen=_render(image, "screen", min(DERIVATIVE_EDGES["screen"], long_edge), quality=85),
        thumb=_render(image, "thumb", DERIVATIVE_EDGES["thumb"], quality=80),
        sha256=hashlib.sha256(full.content).hexdigest(),
    )


def _decode(data: bytes, *, max_pixels: int) -> Image.Image:
    not_a_photo = _("This file is not a photo we can read. Send a JPEG, PNG or WebP picture.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                raise PhotoRejected(not_a_photo)
            if probe.width * probe.height > max_pixels:
                raise PhotoRejected(
                    _("The picture has too many pixels. Take it again at a lower resolution.")
                )
            if getattr(probe, "n_frames", 1) > 1:
                raise PhotoRejected(_("Animated pictures cannot be used. Send a still photo."))
            probe.verify()
            # verify() leaves the image unusable; open again and decode every pixel, so that a
            # truncated file fails here and not later in front of a dermatologist.
            image = Image.open(io.BytesIO(data))
            image.load()
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected(not_a_photo) from None
    except (OSError, SyntaxError, ValueError):
        raise PhotoRejected(
            _("The photo seems to be damaged or only partly uploaded. Please send it again.")
        ) from None
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert to plain sRGB so colours stay true once the embedded colour profile is dropped.

    Skin colour is clinical information; phones often shoot in Display P3.
    """
    profile = image.info.get("icc_profile")
    rgb = image.convert("RGB")
    if not profile:
        return rgb
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(rgb, source, ImageCms.createProfile("sRGB"))
    except (ImageCms.PyCMSError, OSError):
        return rgb  # A broken profile: the pixels as they are beat no photo at all.
    return converted if converted is not None else rgb


def _render(image: Image.Image, name: str, edge: int, *, quality: int) -> Rendition:
    copy = image.copy()
    copy.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # No exif=, no icc_profile=, no comment: the output carries pixels only.
    copy.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return Rendition(name=name, content=out.getvalue(), width=copy.width, height=copy.height)
