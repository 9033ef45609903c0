"""Photo processing, pure and without a database: what leaves is an upright sRGB JPEG, no more."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

import exifread
import pytest
import pyvips
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageOps

from telederm.photos import processing
from telederm.photos.processing import (
    QUALITY_ADVICE,
    REJECTIONS,
    PhotoRejected,
    ProcessedPhoto,
    QualityThresholds,
    process_upload,
)
from telederm.photos.tests import corpus

# The calibrated defaults of TELEDERM_PHOTO_MIN_FOCUS, _MAX_CLIPPED and _MIN_SHORT_EDGE.
THRESHOLDS = QualityThresholds(min_focus=30.0, max_clipped=0.08, min_short_edge=1000)
LIMITS = {"max_bytes": 5 * 1024 * 1024, "max_pixels": 30_000_000, "long_edge": 2560}
# A fresh JPEG from libvips has these markers and no others: start, JFIF, quantisation tables,
# baseline frame, Huffman tables, scan, end. No APP1 (EXIF, XMP), APP2 (ICC), APP13 (IPTC), COM.
CLEAN_MARKERS = {0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA, 0xD9}


def process(data: bytes, **limits: int) -> ProcessedPhoto:
    return process_upload(io.BytesIO(data), **{**LIMITS, **limits}, thresholds=THRESHOLDS)


def renditions(result: ProcessedPhoto) -> list[processing.Rendition]:
    return [result.full, result.screen, result.thumb]


def assert_pixels_only(content: bytes) -> None:
    markers, trailing = corpus.jpeg_segments(content)
    assert set(markers) <= CLEAN_MARKERS, [hex(m) for m in set(markers) - CLEAN_MARKERS]
    assert trailing == b"", "nothing may follow the end of the image"
    assert exifread.process_file(io.BytesIO(content), details=False) == {}
    image = Image.open(io.BytesIO(content))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert not {"exif", "icc_profile", "xmp", "comment", "photoshop"} & set(image.info)


@cache
def photo(image_format: str, size: tuple[int, int] = (640, 480)) -> bytes:
    return corpus.encoded(corpus.small_photo(size), image_format)


# ---------------------------------------------------------------------------------------------
# Refused


BAD_FILES: list[tuple[str, Callable[[], bytes], str]] = [
    ("empty", lambda: b"", "empty"),
    ("plain text", lambda: b"Dear doctor, here is my rash.", "not_an_image"),
    ("html page", corpus.html, "not_an_image"),
    ("zip archive", corpus.zip_archive, "not_an_image"),
    ("executable", lambda: b"\x7fELF\x02\x01\x01" + bytes(200), "not_an_image"),
    ("random bytes", lambda: corpus.noise(4000, seed=4), "not_an_image"),
    ("svg with a script", corpus.svg, "unsupported"),
    ("svg after a BOM", lambda: b"\xef\xbb\xbf\n  " + corpus.svg(), "unsupported"),
    ("pdf with a jpeg inside", corpus.pdf_with_a_jpeg_inside, "unsupported"),
    ("pdf after junk", lambda: b"junk\n" + corpus.pdf_with_a_jpeg_inside(), "unsupported"),
    ("tiff", lambda: photo("TIFF"), "unsupported"),
    ("bmp", lambda: photo("BMP"), "unsupported"),
    ("icon", lambda: corpus.encoded(corpus.small_photo(), "ICO"), "unsupported"),
    ("still gif", lambda: corpus.encoded(Image.new("P", (10, 10)), "GIF"), "unsupported"),
    (
        "avif",
        lambda: b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64),
        "unsupported",
    ),
    (
        "live photo video",
        lambda: b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + bytes(64),
        "unsupported",
    ),
    ("animated gif", lambda: corpus.animated("GIF"), "animated"),
    ("animated webp", lambda: corpus.animated("WEBP"), "animated"),
    ("animated png", lambda: corpus.animated("PNG"), "animated"),
    ("png claiming 10 gigapixels", corpus.png_header_bomb, "too_many_pixels"),
    ("png zlib bomb of 64 megapixels", corpus.png_zlib_bomb, "too_many_pixels"),
    ("jpeg claiming 65000 x 65000", corpus.jpeg_header_bomb, "too_many_pixels"),
    ("truncated jpeg", lambda: corpus.truncated(photo("JPEG")), "damaged"),
    ("jpeg cut in its header", lambda: photo("JPEG")[:300], "damaged"),
    ("jpeg with a spoilt huffman table", lambda: corpus.corrupted(photo("JPEG")), "damaged"),
    (
        "jpeg magic then garbage",
        lambda: b"\xff\xd8\xff" + corpus.noise(999, seed=5),
        "damaged",
    ),
    ("truncated png", lambda: corpus.truncated(photo("PNG")), "damaged"),
    ("png with garbled data", lambda: corpus.corrupted(photo("PNG")), "damaged"),
    ("truncated webp", lambda: corpus.truncated(photo("WEBP")), "damaged"),
    ("truncated heic", lambda: corpus.truncated(corpus.heic(corpus.small_photo())), "damaged"),
]


@pytest.mark.parametrize(
    ("build", "code"), [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_a_file_that_is_not_a_usable_photo_is_refused_with_a_reason(
    build: Callable[[], bytes], code: str
) -> None:
    with pytest.raises(PhotoRejected) as refusal:
        process(build())
    assert refusal.value.code == code
    assert str(refusal.value) == refusal.value.message == str(REJECTIONS[code])


def test_a_file_over_the_size_limit_is_refused_before_it_is_read_as_an_image() -> None:
    # Over the limit by one byte and not an image at all: the size decides, nothing is decoded.
    with pytest.raises(PhotoRejected) as refusal:
        process(b"\x00" * (1024 * 1024 + 1), max_bytes=1024 * 1024)
    assert refusal.value.code == "too_large"


def test_a_file_on_disk_over_the_size_limit_is_refused_from_its_size(tmp_path: Path) -> None:
    path = tmp_path / "upload"
    path.write_bytes(photo("JPEG"))
    with pytest.raises(PhotoRejected) as refusal:
        process_upload(path, **{**LIMITS, "max_bytes": 1000}, thresholds=THRESHOLDS)
    assert refusal.value.code == "too_large"
    assert process_upload(path, **LIMITS, thresholds=THRESHOLDS).full.width == 640


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "HEIC"])
def test_pixels_over_the_limit_are_refused_even_in_an_honest_photo(image_format: str) -> None:
    image = corpus.small_photo((640, 480))
    source = corpus.heic(image) if image_format == "HEIC" else corpus.encoded(image, image_format)
    with pytest.raises(PhotoRejected) as refusal:
        process(source, max_pixels=640 * 480 - 1)
    assert refusal.value.code == "too_many_pixels"
    assert process(source, max_pixels=640 * 480).full.width == 640


def test_every_refusal_and_every_flag_has_a_message() -> None:
    assert set(REJECTIONS) == {
        "empty",
        "too_large",
        "not_an_image",
        "unsupported",
        "too_many_pixels",
        "animated",
        "damaged",
        "duplicate",
    }
    assert set(QUALITY_ADVICE) == {"blurry", "too_dark", "too_bright", "low_resolution"}
    assert all(str(message) for message in [*REJECTIONS.values(), *QUALITY_ADVICE.values()])
    assert PhotoRejected("duplicate").message == "This photo is already in the case."
    with pytest.raises(KeyError):
        PhotoRejected("no_such_code")


def test_libvips_cannot_be_made_to_read_svg_or_tiff_once_processing_is_loaded() -> None:
    # Defence in depth: even code that bypasses our format check cannot reach these loaders.
    for load in (pyvips.Image.svgload_buffer, pyvips.Image.tiffload_buffer):
        with pytest.raises(pyvips.Error):
            load(corpus.svg() if load is pyvips.Image.svgload_buffer else photo("TIFF")).avg()


# ---------------------------------------------------------------------------------------------
# Polyglots: accepted as the photo they also are, and re-encoded without the rest


POLYGLOTS: list[tuple[str, Callable[[], bytes], bytes]] = [
    ("jpeg + zip", lambda: corpus.jpeg_with_appended(corpus.zip_archive()), b"PK\x03\x04"),
    ("jpeg + html", lambda: corpus.jpeg_with_appended(corpus.html()), b"<script>"),
    ("jpeg that is also javascript", corpus.jpeg_javascript_polyglot, b"alert("),
    ("png + html", lambda: photo("PNG") + corpus.html(), b"<script>"),
    (
        "jpeg with a pdf header in a comment",
        lambda: corpus.insert_segment(photo("JPEG"), 0xFE, b"%PDF-1.7 1 0 obj"),
        b"%PDF",
    ),
]


@pytest.mark.parametrize(
    ("build", "payload"), [case[1:] for case in POLYGLOTS], ids=[case[0] for case in POLYGLOTS]
)
def test_a_polyglot_comes_out_as_a_fresh_jpeg_without_its_payload(
    build: Callable[[], bytes], payload: bytes
) -> None:
    source = build()
    assert payload in source
    for rendition in renditions(process(source)):
        assert payload not in rendition.content
        assert_pixels_only(rendition.content)


# ---------------------------------------------------------------------------------------------
# Metadata, orientation, colour


def test_gps_and_every_other_metadata_field_are_removed() -> None:
    source = corpus.jpeg_with_every_kind_of_metadata()
    tags = exifread.process_file(io.BytesIO(source), details=False)
    assert "GPS GPSLatitude" in tags and "Image Make" in tags, "the fixture carries EXIF and GPS"
    opened = Image.open(io.BytesIO(source))
    assert opened.getexif().get_ifd(corpus.GPS_IFD) and opened.info.get("icc_profile")
    assert b"Hammerfest" in source and b"Kari Nordmann" in source
    for rendition in renditions(process(source)):
        assert_pixels_only(rendition.content)
        assert b"Kari" not in rendition.content and b"Hammerfest" not in rendition.content
        assert b"PhoneMaker" not in rendition.content


@pytest.mark.parametrize("image_format", ["PNG", "WEBP", "HEIC"])
def test_exif_with_gps_is_removed_from_every_format(image_format: str) -> None:
    image = corpus.small_photo((320, 240))
    exif = corpus.gps_exif(1)
    if image_format == "HEIC":
        source = corpus.heic(image, exif=exif.tobytes())
    else:
        source = corpus.encoded(image, image_format, exif=exif)
    assert b"PhoneMaker" in source
    for rendition in renditions(process(source)):
        assert_pixels_only(rendition.content)
        assert b"PhoneMaker" not in rendition.content


def corner_colours(image: Image.Image) -> list[tuple[int, ...]]:
    width, height = image.size
    points = [(width // 4, height // 4), (3 * width // 4, height // 4)]
    points += [(width // 4, 3 * height // 4), (3 * width // 4, 3 * height // 4)]
    return [image.convert("RGB").getpixel(point) for point in points]  # type: ignore[misc]


def assert_same_colours(ours: list[tuple[int, ...]], expected: list[tuple[int, ...]]) -> None:
    for got, want in zip(ours, expected, strict=True):
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 24, (got, want)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_exif_orientation_is_applied_to_the_pixels(orientation: int) -> None:
    source = corpus.encoded(corpus.quadrants(), "JPEG", exif=corpus.gps_exif(orientation))
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(source)))
    result = process(source)
    full = Image.open(io.BytesIO(result.full.content))
    assert full.size == expected.size == (result.full.width, result.full.height)
    assert_same_colours(corner_colours(full), corner_colours(expected))
    thumb = Image.open(io.BytesIO(result.thumb.content))
    assert_same_colours(corner_colours(thumb), corner_colours(expected))


def test_an_iphone_heic_is_decoded_upright() -> None:
    # pillow-heif stores the EXIF orientation as HEIF's own rotation (irot) and keeps the EXIF
    # tag too; the pixels must be turned once, not twice.
    source = corpus.heic(corpus.quadrants(), exif=corpus.gps_exif(6).tobytes())
    assert source[4:12] == b"ftypheic"
    result = process(source)
    full = Image.open(io.BytesIO(result.full.content))
    expected = corpus.quadrants().transpose(Image.Transpose.ROTATE_270)  # 90° clockwise
    assert full.size == expected.size
    assert_same_colours(corner_colours(full), corner_colours(expected))


SKIN_SRGB = (200, 150, 130)


def test_a_display_p3_photo_is_converted_to_srgb() -> None:
    # The same skin colour stored as an iPhone stores it: Display P3 numbers and the P3 profile.
    p3 = corpus.to_display_p3(corpus.solid(SKIN_SRGB, (64, 64)))
    stored = corpus.to_pillow(p3)
    assert stored.getpixel((5, 5)) != SKIN_SRGB
    source = corpus.encoded(stored, "JPEG", quality=95, icc_profile=corpus.display_p3_profile())
    result = process(source)
    for rendition in renditions(result):
        pixel = Image.open(io.BytesIO(rendition.content)).getpixel((5, 5))
        assert_same_colours([pixel], [SKIN_SRGB])  # type: ignore[list-item]
    # And lcms through Pillow agrees.
    reference = ImageCms.profileToProfile(
        Image.open(io.BytesIO(source)),
        ImageCms.ImageCmsProfile(io.BytesIO(corpus.display_p3_profile())),
        ImageCms.createProfile("sRGB"),
    )
    assert reference is not None
    assert_same_colours(
        [Image.open(io.BytesIO(result.full.content)).getpixel((5, 5))],  # type: ignore[list-item]
        [reference.getpixel((5, 5))],  # type: ignore[list-item]
    )


def test_a_heic_with_a_display_p3_profile_is_converted_too() -> None:
    stored = corpus.to_pillow(corpus.to_display_p3(corpus.solid(SKIN_SRGB, (64, 64))))
    source = corpus.heic(stored, icc_profile=corpus.display_p3_profile())
    pixel = Image.open(io.BytesIO(process(source).full.content)).getpixel((5, 5))
    assert_same_colours([pixel], [SKIN_SRGB])  # type: ignore[list-item]


def test_a_photo_without_a_profile_keeps_its_colours_as_srgb() -> None:
    source = corpus.encoded(Image.new("RGB", (64, 64), SKIN_SRGB), "JPEG", quality=95)
    pixel = Image.open(io.BytesIO(process(source).full.content)).getpixel((5, 5))
    assert_same_colours([pixel], [SKIN_SRGB])  # type: ignore[list-item]


def test_a_broken_colour_profile_does_not_cost_the_photo() -> None:
    source = corpus.encoded(Image.new("RGB", (64, 64), SKIN_SRGB), "JPEG", icc_profile=b"junk" * 40)
    pixel = Image.open(io.BytesIO(process(source).full.content)).getpixel((5, 5))
    assert_same_colours([pixel], [SKIN_SRGB])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("mode", "image_format"),
    [
        ("CMYK", "JPEG"),
        ("L", "PNG"),
        ("I;16", "PNG"),
        ("P", "PNG"),
        ("LA", "PNG"),
        ("RGBA", "WEBP"),
    ],
)
def test_other_colour_modes_come_out_as_srgb_jpegs(mode: str, image_format: str) -> None:
    source = corpus.encoded(corpus.small_photo((80, 60)).convert(mode), image_format)
    result = process(source)
    image = Image.open(io.BytesIO(result.full.content))
    assert (image.mode, image.size) == ("RGB", (80, 60))


def test_transparent_parts_become_white() -> None:
    source = corpus.encoded(Image.new("RGBA", (40, 40), (200, 0, 0, 0)), "PNG")
    pixel = Image.open(io.BytesIO(process(source).full.content)).getpixel((20, 20))
    assert_same_colours([pixel], [(255, 255, 255)])  # type: ignore[list-item]


# ---------------------------------------------------------------------------------------------
# Renditions


def test_renditions_are_downscaled_and_hashed() -> None:
    source = corpus.encoded(
        Image.new("RGB", (4000, 3000), SKIN_SRGB), "JPEG", exif=corpus.gps_exif(6)
    )
    result = process(source)
    sizes = [(r.width, r.height) for r in renditions(result)]
    assert sizes == [(1920, 2560), (1200, 1600), (240, 320)]
    for rendition in renditions(result):
        assert Image.open(io.BytesIO(rendition.content)).size == (rendition.width, rendition.height)
    assert result.sha256 == hashlib.sha256(result.full.content).hexdigest()


def test_a_small_photo_is_never_enlarged() -> None:
    result = process(photo("JPEG"))
    assert [(r.width, r.height) for r in renditions(result)] == [(640, 480)] * 2 + [(320, 240)]


def test_the_full_rendition_follows_the_long_edge_it_is_given() -> None:
    result = process(photo("PNG"), long_edge=500)
    assert [r.width for r in renditions(result)] == [500, 500, 320]


def test_a_jpeg_twice_the_long_edge_is_shrunk_while_decoding_and_keeps_its_details() -> None:
    # 1300 px wide: libjpeg decodes at 650, then Lanczos takes it to 500, upright.
    source = corpus.encoded(corpus.quadrants((1300, 900)), "JPEG", exif=corpus.gps_exif(6))
    result = process(source, long_edge=500)
    assert (result.full.width, result.full.height) == (346, 500)
    assert result.quality.measures["short_edge"] == 900
    full = Image.open(io.BytesIO(result.full.content))
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(source)))
    assert_same_colours(corner_colours(full), corner_colours(expected))


# ---------------------------------------------------------------------------------------------
# Quality checks: flag, never refuse


@pytest.fixture(scope="module")
def skin_12mp() -> pyvips.Image:
    return corpus.skin_pixels(4032, 3024, seed=3).copy_memory()


@pytest.fixture(scope="module")
def skin_3mp() -> pyvips.Image:
    return corpus.skin_pixels(2016, 1512, seed=1).copy_memory()


def test_a_sharp_well_exposed_12_megapixel_photo_raises_no_flag(skin_12mp: pyvips.Image) -> None:
    result = process(corpus.phone_jpeg(pixels=skin_12mp, orientation=6))
    assert result.quality.flags == ()
    assert result.quality.measures["focus"] > 2 * THRESHOLDS.min_focus
    assert result.quality.measures["short_edge"] == 3024


def test_a_photo_blurred_by_6_pixels_at_12_megapixels_is_flagged_blurry_and_kept(
    skin_12mp: pyvips.Image,
) -> None:
    result = process(corpus.phone_jpeg(pixels=skin_12mp, blur=6))
    assert result.quality.flags == ("blurry",)
    assert result.full.width == 2560  # Kept: the sender is told, triage sees the flag.


@pytest.mark.parametrize(
    ("gain", "offset", "flag"),
    [
        (0.5, -30, "too_dark"),
        (0.4, -40, "too_dark"),
        (1.8, 40, "too_bright"),
        (2.0, 30, "too_bright"),
    ],
)
def test_a_badly_exposed_photo_is_flagged(
    skin_3mp: pyvips.Image, gain: float, offset: float, flag: str
) -> None:
    result = process(corpus.phone_jpeg(pixels=skin_3mp, gain=gain, offset=offset))
    assert flag in result.quality.flags
    assert "low_resolution" not in result.quality.flags


@pytest.mark.parametrize(("gain", "offset"), [(1.0, 0), (0.8, 0), (1.1, 10), (1.2, 30)])
def test_a_well_or_slightly_off_exposed_photo_is_not_flagged(
    skin_3mp: pyvips.Image, gain: float, offset: float
) -> None:
    result = process(corpus.phone_jpeg(pixels=skin_3mp, gain=gain, offset=offset))
    assert result.quality.flags == ()


def test_a_vga_photo_is_flagged_low_resolution() -> None:
    result = process(corpus.phone_jpeg(640, 480, seed=2))
    assert "low_resolution" in result.quality.flags
    assert result.quality.measures["short_edge"] == 480


def test_a_uniform_picture_has_no_focus_and_a_tiny_one_does_not_break_the_checks() -> None:
    assert process(corpus.encoded(Image.new("RGB", (50, 40), SKIN_SRGB), "PNG")).quality.flags == (
        "blurry",
        "low_resolution",
    )
    assert (
        "blurry"
        in process(corpus.encoded(Image.new("RGB", (2, 1), SKIN_SRGB), "PNG")).quality.flags
    )


# ---------------------------------------------------------------------------------------------
# For any photo we accept


@st.composite
def uploads(draw: st.DrawFn) -> tuple[bytes, int, tuple[int, int]]:
    width, height = draw(st.integers(1, 400)), draw(st.integers(1, 400))
    image_format = draw(st.sampled_from(["JPEG", "PNG", "WEBP"]))
    modes = {"JPEG": ["RGB", "L", "CMYK"], "PNG": ["RGB", "RGBA", "L", "LA", "P", "I;16"]}
    mode = draw(st.sampled_from(modes.get(image_format, ["RGB", "RGBA"])))
    seed = draw(st.integers(0, 2**16))
    image = Image.frombytes("RGB", (width, height), corpus.noise(width * height * 3, seed))
    options: dict[str, object] = {}
    if draw(st.booleans()):
        options["exif"] = corpus.gps_exif(draw(st.integers(1, 8)))
    source = corpus.encoded(image.convert(mode), image_format, **options)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(source))).size
    return source, draw(st.sampled_from([16, 100, 300, 2560])), upright


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(uploads())
def test_any_accepted_photo_comes_out_as_clean_jpegs_within_its_limits(
    upload: tuple[bytes, int, tuple[int, int]],
) -> None:
    source, long_edge, (width, height) = upload
    result = process(source, long_edge=long_edge)
    previous = max(width, height)
    for rendition, edge in zip(renditions(result), (long_edge, 1600, 320), strict=True):
        assert_pixels_only(rendition.content)
        image = Image.open(io.BytesIO(rendition.content))
        image.load()
        assert image.size == (rendition.width, rendition.height)
        assert max(image.size) <= min(edge, long_edge, previous)
        previous = max(image.size)
    if max(width, height) > 2 * min(width, height):  # Clearly portrait or landscape: still so.
        assert (result.full.width > result.full.height) == (width > height)
