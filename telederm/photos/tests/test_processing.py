"""Photo cleaning: pure, no database. What leaves here is pixels only."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from conftest import jpeg_bytes
from telederm.photos.processing import PhotoRejected, process_upload

LIMITS = {"max_bytes": 5 * 1024 * 1024, "max_pixels": 30_000_000, "long_edge": 2560}


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (70.0, 39.0, 45.0)  # Hammerfest
    gps[3], gps[4] = "E", (23.0, 40.0, 55.0)
    return exif


def test_gps_and_every_other_exif_field_are_removed() -> None:
    original = jpeg_bytes(size=(400, 300), exif=gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825), "the fixture carries GPS"
    result = process_upload(io.BytesIO(original), **LIMITS)
    for rendition in (result.full, result.screen, result.thumb):
        cleaned = Image.open(io.BytesIO(rendition.content))
        assert dict(cleaned.getexif()) == {}
        assert b"PhoneMaker" not in rendition.content
        assert "icc_profile" not in cleaned.info


def test_the_exif_orientation_is_applied_to_the_pixels() -> None:
    result = process_upload(io.BytesIO(jpeg_bytes(size=(400, 300), exif=gps_exif())), **LIMITS)
    assert (result.full.width, result.full.height) == (300, 400)


def test_renditions_are_downscaled_and_hashed() -> None:
    result = process_upload(io.BytesIO(jpeg_bytes(size=(4000, 3000))), **LIMITS)
    assert max(result.full.width, result.full.height) == 2560
    assert max(result.screen.width, result.screen.height) == 1600
    assert max(result.thumb.width, result.thumb.height) == 320
    assert len(result.sha256) == 64


def test_a_wide_gamut_photo_is_converted_to_srgb() -> None:
    out = io.BytesIO()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    Image.new("RGB", (50, 50), (200, 150, 130)).save(out, format="JPEG", icc_profile=profile)
    result = process_upload(io.BytesIO(out.getvalue()), **LIMITS)
    assert "icc_profile" not in Image.open(io.BytesIO(result.full.content)).info


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"%PDF-1.7\n1 0 obj<<>>endobj", "not a photo"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not a photo"),
        (b"", "empty"),
        (jpeg_bytes()[:600], "damaged or only partly uploaded"),
    ],
    ids=["pdf", "svg", "empty", "truncated-jpeg"],
)
def test_files_that_are_not_usable_photos_are_refused(payload: bytes, message: str) -> None:
    with pytest.raises(PhotoRejected, match=message):
        process_upload(io.BytesIO(payload), **LIMITS)


def test_a_gif_is_refused_even_when_named_like_a_photo() -> None:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, format="GIF")
    with pytest.raises(PhotoRejected, match="not a photo"):
        process_upload(io.BytesIO(out.getvalue()), **LIMITS)


def test_an_animated_webp_is_refused() -> None:
    out = io.BytesIO()
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(PhotoRejected, match="Animated"):
        process_upload(io.BytesIO(out.getvalue()), **LIMITS)


def test_too_many_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(PhotoRejected, match="too many pixels"):
        process_upload(
            io.BytesIO(jpeg_bytes(size=(2000, 2000))), **{**LIMITS, "max_pixels": 1_000_000}
        )


def test_a_file_over_the_size_limit_is_refused() -> None:
    with pytest.raises(PhotoRejected, match="larger than 1 MB"):
        process_upload(
            io.BytesIO(b"\xff" * (1024 * 1024 + 1)), **{**LIMITS, "max_bytes": 1024 * 1024}
        )
