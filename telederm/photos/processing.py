"""Turn an uploaded file into clean photos: really an image, upright, sRGB, pixels only. Pure logic.

A phone photo carries GPS position, device serial numbers and times in its metadata; none of that
may travel further. We recognise the format by its bytes (never by the name), read the dimensions
from the header before decoding anything, decode with libvips (pillow-heif for HEIC), turn the
pixels upright, convert them to sRGB and write three fresh JPEGs that carry nothing but pixels.
Re-encoding also drops whatever rides along in the file: appended archives, scripts in comments.
docs/adr/0004 and docs/adr/0014 give the reasons and the measurements.

No database and no settings here: limits and thresholds come in as arguments.

Importing this module configures libvips for the whole process: no operation cache (a cache would
keep patients' pixels in memory and make benchmarks lie) and every loader blocked except JPEG, PNG
and WebP, so that no code path can reach the SVG, TIFF, GIF or matrix loaders libvips also has.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pillow_heif
import pyvips
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

logging.getLogger("pyvips").setLevel(logging.WARNING)  # libvips reports every resize at INFO.
pyvips.cache_set_max(0)
pyvips.block_untrusted_set(True)
pyvips.operation_block_set("VipsForeignLoad", True)
for _loader in ("VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadWebp"):
    pyvips.operation_block_set(_loader, False)

REJECTIONS: dict[str, Promise] = {
    "empty": _("The file is empty. Choose the photo again and send it."),
    "too_large": _(
        "The file is too large. Send the photo as the phone's camera saved it, or take it again."
    ),
    "not_an_image": _(
        "This file is not a photo. Send a photo taken with a phone or camera (JPEG, PNG, WebP "
        "or HEIC)."
    ),
    "unsupported": _(
        "This kind of file cannot be used. Send the photo as JPEG, PNG, WebP or HEIC, the way a "
        "phone's camera saves it."
    ),
    "too_many_pixels": _(
        "The picture has too many pixels. Take the photo again with the phone's ordinary camera."
    ),
    "animated": _("Moving pictures cannot be used. Send a still photo."),
    "damaged": _("The photo seems damaged or only partly uploaded. Please send it again."),
    "duplicate": _("This photo is already in the case."),
}

QUALITY_ADVICE: dict[str, Promise] = {
    "blurry": _(
        "The photo looks blurred. Hold the phone still, a hand's width from the skin, tap the "
        "spot on the screen to focus, and take it again."
    ),
    "too_dark": _(
        "The photo is too dark: parts of it are pure black. Take it again in daylight or in a "
        "well-lit room."
    ),
    "too_bright": _(
        "The photo is too bright: parts of it are pure white. Take it again out of direct sunlight "
        "and without the flash."
    ),
    "low_resolution": _(
        "The photo is too small for the doctor to see details. Take it with the phone's camera "
        "instead of sending a screenshot or a copy from a chat."
    ),
}

RENDITION_EDGES = {"screen": 1600, "thumb": 320}
JPEG_QUALITY = {"full": 90, "screen": 85, "thumb": 80}
# The quality checks look at the photo scaled to this long edge (half the screen rendition), so
# that the focus measure means the same for a 12 MP and a 48 MP camera.
QUALITY_EDGE = 800
# Grey levels counted as clipped: JPEG noise scatters a burnt-out or crushed area over the last
# few levels, so "pure" white is 253-255 and pure black 0-2.
CLIP_LEVELS = 3

HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
GENERIC_HEIF_BRANDS = {b"mif1", b"msf1"}
# Image and document formats we recognise and do not accept, so the sender hears "unsupported"
# rather than "not a photo": PDF, PostScript, TIFF, BMP, ICO, PSD, JPEG XL, JPEG 2000, QOI, EXR.
OTHER_SIGNATURES = (
    *(b"%PDF-", b"%!PS", b"II*\x00", b"MM\x00*", b"BM", b"\x00\x00\x01\x00", b"8BPS", b"qoif"),
    *(b"\xff\x0a", b"\x00\x00\x00\x0cJXL ", b"\x00\x00\x00\x0cjP  ", b"v/1\x01"),
)
# Rotations and flips that turn the stored pixels upright, per EXIF orientation (TIFF 6.0 § 274).
UPRIGHT = {
    2: ("fliphor",),
    3: ("rot180",),
    4: ("flipver",),
    5: ("rot90", "fliphor"),
    6: ("rot90",),
    7: ("rot270", "fliphor"),
    8: ("rot270",),
}
LAPLACIAN = pyvips.Image.new_from_list([[0, 1, 0], [1, -4, 1], [0, 1, 0]])


class PhotoRejected(ValueError):
    """The file cannot be used as a photo; `message` tells the sender what to do."""

    def __init__(self, code: str) -> None:
        if code not in REJECTIONS:
            raise KeyError(code)
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(REJECTIONS[self.code])  # In the language active when it is read.

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class QualityThresholds:
    min_focus: float
    max_clipped: float
    min_short_edge: int


@dataclass(frozen=True)
class Rendition:
    name: str
    content: bytes
    width: int
    height: int


@dataclass(frozen=True)
class QualityReport:
    flags: tuple[str, ...]  # Keys of QUALITY_ADVICE.
    measures: dict[str, float]


@dataclass(frozen=True)
class ProcessedPhoto:
    full: Rendition
    screen: Rendition
    thumb: Rendition
    sha256: str  # Of full.content.
    quality: QualityReport


@dataclass(frozen=True)
class _Decoded:
    image: pyvips.Image  # Not decoded yet for libvips formats: pixels flow on demand.
    orientation: int
    source_short_edge: int
    # The colours the pixels are in when the file embeds no ICC profile.
    assumed_profile: str = "srgb"


def process_upload(
    source: BinaryIO | Path,
    *,
    max_bytes: int,
    max_pixels: int,
    long_edge: int,
    thresholds: QualityThresholds,
) -> ProcessedPhoto:
    """Validate, clean and check one uploaded photo, or raise PhotoRejected with a code."""
    data = _read(source, max_bytes=max_bytes)
    try:
        decoded = _open(data, max_pixels=max_pixels, long_edge=long_edge)
        return _render(decoded, long_edge=long_edge, thresholds=thresholds)
    except pyvips.Error:
        # A header libvips cannot parse, or pixels that fail as they are pulled through: libvips
        # decodes on demand, so a truncated file fails while the renditions are made.
        raise PhotoRejected("damaged") from None


def _read(source: BinaryIO | Path, *, max_bytes: int) -> bytes:
    if isinstance(source, Path):
        if source.stat().st_size > max_bytes:
            raise PhotoRejected("too_large")
        data = source.read_bytes()
    else:
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PhotoRejected("too_large")
    if not data:
        raise PhotoRejected("empty")
    return data


def _open(data: bytes, *, max_pixels: int, long_edge: int) -> _Decoded:
    """Check what the file really is and how big it claims to be, before decoding any pixels."""
    kind = sniff(data)
    if kind == "gif":
        raise PhotoRejected("animated" if _gif_frames(data) > 1 else "unsupported")
    if kind in {"svg", "other"}:
        raise PhotoRejected("unsupported")
    if kind == "unknown":
        raise PhotoRejected("not_an_image")
    if kind == "heif":
        return _open_heif(data, max_pixels=max_pixels)
    if (kind == "png" and _is_apng(data)) or (kind == "webp" and _is_animated_webp(data)):
        raise PhotoRejected("animated")
    loader = {
        "jpeg": pyvips.Image.jpegload_buffer,
        "png": pyvips.Image.pngload_buffer,
        "webp": pyvips.Image.webpload_buffer,
    }[kind]
    # The header only; fail_on="error" makes truncated or corrupt data fail once pixels are read.
    image = loader(data, access="sequential", fail_on="error")
    pages = int(image.get("n-pages")) if image.get_typeof("n-pages") else 1
    orientation = int(image.get("orientation")) if image.get_typeof("orientation") else 1
    _check_pixels(image.width, image.height, max_pixels=max_pixels)
    if pages > 1:
        raise PhotoRejected("animated")
    short_edge, long = sorted((image.width, image.height))
    shrink = next((f for f in (8, 4, 2) if long / f >= long_edge and short_edge >= f), 1)
    if kind == "jpeg" and shrink > 1:
        # libjpeg can decode at 1/2, 1/4 or 1/8 size in the DCT, far cheaper than decoding every
        # pixel and resizing; only when the result still has long_edge pixels (a 48 MP photo).
        image = loader(data, shrink=shrink, access="sequential", fail_on="error")
    return _Decoded(image=image, orientation=orientation, source_short_edge=short_edge)


def _open_heif(data: bytes, *, max_pixels: int) -> _Decoded:
    # libvips as shipped decodes no HEVC (a patent matter), so HEIC goes through pillow-heif.
    # Its errors are ValueError and RuntimeError; PhotoRejected is a ValueError too, hence the
    # pixel check outside the try.
    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)  # The header only.
        width, height = heif.size
    except (ValueError, RuntimeError, OSError, EOFError, KeyError):
        raise PhotoRejected("damaged") from None
    _check_pixels(width, height, max_pixels=max_pixels)
    try:
        pixels, stride, bands = heif.data, heif.stride, len(heif.mode)
        profile = heif.info.get("icc_profile")
        nclx = heif.info.get("nclx_profile") or {}
    except (ValueError, RuntimeError, OSError, EOFError, KeyError):
        raise PhotoRejected("damaged") from None
    if stride % bands:
        raise PhotoRejected("damaged")
    image = pyvips.Image.new_from_memory(pixels, stride // bands, height, bands, "uchar")
    image = image.crop(0, 0, width, height).copy(interpretation="b-w" if bands < 3 else "srgb")
    if profile:
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", profile)
    # No ICC profile but the colour primaries of Display P3 (code 12, ITU-T H.273), as some
    # Android phones write: libvips has that profile built in.
    assumed = "p3" if nclx.get("color_primaries") == 12 else "srgb"
    # libheif has already turned the picture upright (irot/imir); HEIF says the EXIF orientation
    # is then to be ignored, so applying it again would turn the photo twice.
    return _Decoded(
        image=image, orientation=1, source_short_edge=min(width, height), assumed_profile=assumed
    )


def _check_pixels(width: int, height: int, *, max_pixels: int) -> None:
    # A decompression bomb is a tiny file whose header promises billions of pixels.
    if width * height > max_pixels:
        raise PhotoRejected("too_many_pixels")


def _render(decoded: _Decoded, *, long_edge: int, thresholds: QualityThresholds) -> ProcessedPhoto:
    image = decoded.image
    if image.hasalpha():
        # Transparent parts become white, as they look on a web page.
        image = image.flatten(background=[65535 if image.format == "ushort" else 255])
    # Shrink first, then convert colours: the colour transform is the costly step per pixel.
    full = _shrink(image, long_edge)
    if full.get_typeof("icc-profile-data") or decoded.assumed_profile != "srgb":
        # Skin colour is clinical information and phones often shoot in Display P3; the embedded
        # profile is dropped on output, so the pixels must be true sRGB. A profile libvips cannot
        # use is ignored in favour of the assumed one: the pixels as they are beat no photo.
        full = full.icc_transform(
            "srgb", embedded=True, input_profile=decoded.assumed_profile, intent="relative"
        )
    full = full.colourspace("srgb").cast("uchar").copy_memory()
    screen = _shrink(full, min(RENDITION_EDGES["screen"], long_edge)).copy_memory()
    # The thumbnail and the quality checks start from a copy half the screen size: a 2 × 2
    # average is a fraction of the cost of a general resize, and both need few pixels.
    small = _shrink(screen, QUALITY_EDGE).copy_memory()
    thumb = _shrink(small, min(RENDITION_EDGES["thumb"], long_edge))
    renditions = {
        name: _encode(_upright(pixels, decoded.orientation), name)
        for name, pixels in (("full", full), ("screen", screen), ("thumb", thumb))
    }
    return ProcessedPhoto(
        full=renditions["full"],
        screen=renditions["screen"],
        thumb=renditions["thumb"],
        sha256=hashlib.sha256(renditions["full"].content).hexdigest(),
        quality=check_quality(
            small, source_short_edge=decoded.source_short_edge, thresholds=thresholds
        ),
    )


def _shrink(image: pyvips.Image, edge: int) -> pyvips.Image:
    """Scale down so the long edge is at most `edge`; never up. Lanczos, as Pillow's LANCZOS."""
    long = max(image.width, image.height)
    if long <= edge:
        return image
    if long == 2 * edge:
        return image.shrink(2, 2)
    return image.resize(edge / long, kernel="lanczos3")


def _upright(image: pyvips.Image, orientation: int) -> pyvips.Image:
    for operation in UPRIGHT.get(orientation, ()):
        image = getattr(image, operation)()
    return image


def _encode(image: pyvips.Image, name: str) -> Rendition:
    content = image.jpegsave_buffer(
        Q=JPEG_QUALITY[name],
        keep=pyvips.enums.ForeignKeep.NONE,  # No EXIF, XMP, IPTC, ICC or comment: pixels only.
        subsample_mode="on",  # 4:2:0 like the camera's own file; 4:4:4 would only add bytes.
    )
    return Rendition(name=name, content=content, width=image.width, height=image.height)


def check_quality(
    image: pyvips.Image, *, source_short_edge: int, thresholds: QualityThresholds
) -> QualityReport:
    """Focus, exposure and resolution of an sRGB photo, measured on a small grey copy."""
    grey = _shrink(image, QUALITY_EDGE).colourspace("b-w").copy_memory()
    if grey.width > 3 and grey.height > 3:
        laplacian = grey.conv(LAPLACIAN, precision="float")
        # The outermost pixels lack neighbours on one side; leave them out.
        focus = laplacian.crop(1, 1, grey.width - 2, grey.height - 2).deviate() ** 2
    else:
        focus = 0.0
    counts = memoryview(grey.hist_find().write_to_memory()).cast("I")  # A count per grey level.
    pixels = grey.width * grey.height
    dark = sum(counts[:CLIP_LEVELS]) / pixels
    bright = sum(counts[-CLIP_LEVELS:]) / pixels
    measures = {
        "focus": round(focus, 1),
        "clipped_dark": round(dark, 4),
        "clipped_bright": round(bright, 4),
        "short_edge": float(source_short_edge),
    }
    failed = {
        "blurry": focus < thresholds.min_focus,
        "too_dark": dark > thresholds.max_clipped,
        "too_bright": bright > thresholds.max_clipped,
        "low_resolution": source_short_edge < thresholds.min_short_edge,
    }
    return QualityReport(
        flags=tuple(flag for flag in QUALITY_ADVICE if failed[flag]), measures=measures
    )


def sniff(data: bytes) -> str:
    """The format the bytes say they are: jpeg, png, webp, heif, gif, svg, other or unknown."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        box = data[8 : min(int.from_bytes(data[:4], "big"), 256)]
        brands = {box[i : i + 4] for i in range(0, len(box), 4)} - {box[4:8]}  # Not the version.
        if brands & HEIF_BRANDS or (box[:4] in GENERIC_HEIF_BRANDS and b"avif" not in brands):
            return "heif"
        return "other"  # AVIF, MP4 and MOV videos (an iPhone Live Photo), JPEG XL, ...
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(OTHER_SIGNATURES) or b"%PDF-" in data[:1024] or data[128:132] == b"DICM":
        return "other"  # PDF readers accept a header anywhere in the first KiB; DICOM at 128.
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and b"<svg" in head:
        return "svg"
    return "unknown"


def _gif_frames(data: bytes) -> int:
    """Count the images in a GIF by walking its blocks (GIF89a spec), without decoding any."""
    frames, at = 0, 13
    if data[10:11] and data[10] & 0x80:  # A global colour table follows the screen descriptor.
        at += 3 << ((data[10] & 0x07) + 1)
    while at < len(data) and frames < 2:
        block = data[at]
        if block == 0x2C:  # An image: descriptor, optional local colour table, then data.
            frames += 1
            packed = data[at + 9] if at + 9 < len(data) else 0
            at += 10 + ((3 << ((packed & 0x07) + 1)) if packed & 0x80 else 0) + 1
        elif block == 0x21:  # An extension: label, then data.
            at += 2
        else:
            break  # The trailer, or garbage.
        while at < len(data) and data[at]:  # Sub-blocks, each led by its length, up to a 0.
            at += data[at] + 1
        at += 1
    return frames


def _is_apng(data: bytes) -> bool:
    """An animated PNG announces itself with an acTL chunk before the first image data."""
    at = 8
    while at + 8 <= len(data):
        length, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        if kind == b"acTL":
            return True
        if kind in {b"IDAT", b"IEND"}:
            return False
        at += length + 12
    return False


def _is_animated_webp(data: bytes) -> bool:
    # An extended WebP (VP8X) has an animation flag in its first header byte.
    return data[12:16] == b"VP8X" and bool(data[20:21] and data[20] & 0x02)
