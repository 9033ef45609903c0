"""Test files made on the spot: skin-like phone photos, and files that must be refused.

Nothing here is checked in as a binary: every file is built from a seed, so a reader can see what
each one is. scripts/bench_photos.py uses the same phone photos.
"""

from __future__ import annotations

import io
import math
import random
import struct
import zlib

import pyvips
from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


# ---------------------------------------------------------------------------------------------
# Phone photos


def skin_pixels(width: int, height: int, seed: int = 0) -> pyvips.Image:
    """A skin-like photo: an arm or back on dark cloth, with shading, pores, moles and hairs.

    Not noise: phone JPEGs of it come out at realistic sizes (about 2 MB at 12 MP and quality
    90), and blurring it lowers its focus measure the way blurring a real photo does. Features
    scale with the frame, so a small version looks like a shrunk big one.
    """
    rnd = random.Random(seed)  # noqa: S311 - a seeded fixture, not a secret
    w, h = width, height
    scale = max(w, h) / 4032

    def perlin(cell: float, key: int) -> pyvips.Image:
        return pyvips.Image.perlin(
            w, h, cell_size=max(2, round(cell * scale)), seed=seed * 97 + key
        )

    shading, mottle, grain = perlin(1400, 1), perlin(110, 2), perlin(6, 3)
    pores = (perlin(9, 4) > 0.4).ifthenelse(1.0, 0.0)
    tone = shading * 22 + mottle * 9 + grain * 10 - pores * 12
    base = [rnd.uniform(190, 225), rnd.uniform(140, 170), rnd.uniform(115, 145)]
    skin = tone.bandjoin([tone * 0.92, tone * 0.85]) + base
    weave = perlin(40, 5) * 12 + perlin(3, 6) * 6
    cloth = weave.bandjoin([weave, weave]).linear([1, 1, 1], [55, 62, 80])
    x, y = pyvips.Image.xyz(w, h).bandsplit()
    cx, cy = w * rnd.uniform(0.45, 0.55), h * rnd.uniform(0.45, 0.55)
    distance = ((x - cx) / (w * 0.52)) ** 2 + ((y - cy) / (h * 0.50)) ** 2 + shading * 0.12
    alpha = _clamp((1 - distance) * 80)
    image = skin * alpha + cloth * (1 - alpha)
    for mole in range(rnd.randint(2, 4)):
        radius = rnd.uniform(40, 160) * scale
        size = max(4, int(radius * 2.6))
        left = int(rnd.uniform(0.3, 0.7) * w - size / 2)
        top = int(rnd.uniform(0.3, 0.7) * h - size / 2)
        mx, my = pyvips.Image.xyz(size, size).bandsplit()
        wobble = pyvips.Image.perlin(size, size, cell_size=max(2, size // 3), seed=seed + mole)
        edge = (((mx - size / 2) ** 2 + (my - size / 2) ** 2) ** 0.5) / radius + wobble * 0.25
        blend = _clamp((1 - edge) * max(radius / 3, 1))
        brown = [rnd.uniform(70, 120), rnd.uniform(40, 70), rnd.uniform(30, 55)]
        pigment = pyvips.Image.black(size, size, bands=3) + brown + wobble * 15
        patch = image.crop(left, top, size, size)
        image = image.insert(patch * (1 - blend) + pigment * blend, left, top)
    # Hairs are drawn at half size and enlarged, so they are soft the way a lens makes them.
    hw, hh = max(1, w // 2), max(1, h // 2)
    hairs = pyvips.Image.black(hw, hh).cast("uchar")
    for _ in range(rnd.randint(15, 30)):
        x0, y0 = rnd.uniform(0, hw), rnd.uniform(0, hh)
        length, angle = rnd.uniform(60, 300) * scale, rnd.uniform(-0.6, 0.6)
        x1, y1 = x0 + length * math.cos(angle), y0 + length * math.sin(angle)
        for offset in (0, 1):
            hairs = hairs.draw_line(255, int(x0), int(y0) + offset, int(x1), int(y1) + offset)
    hairs = hairs.resize(w / hw, vscale=h / hh, kernel="linear")
    image = image - hairs.bandjoin([hairs, hairs]) * 0.35
    # Sensor noise as a phone's denoiser leaves it: fine and a little soft.
    noise = pyvips.Image.gaussnoise(hw, hh, sigma=4, mean=0, seed=seed)
    image = image + noise.resize(w / hw, vscale=h / hh, kernel="linear")
    return image.cast("uchar").copy(interpretation="srgb")


def _clamp(image: pyvips.Image) -> pyvips.Image:
    return (image < 0).ifthenelse(0, (image > 1).ifthenelse(1, image))


def gps_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: maker, model, time, an orientation and a GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Phone 15 Pro"
    exif[0x0132] = "2026:11:20 14:03:11"
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (70.0, 39.0, 45.0)  # Hammerfest
    gps[3], gps[4] = "E", (23.0, 40.0, 55.0)
    gps[6] = 12.5  # Altitude
    return exif


def display_p3_profile() -> bytes:
    """The Display P3 ICC profile iPhones embed (libvips has one built in)."""
    tagged = solid((0, 0, 0)).icc_transform("p3", input_profile="srgb", embedded=False)
    return bytes(tagged.get("icc-profile-data"))


def to_display_p3(image: pyvips.Image) -> pyvips.Image:
    """The same colours expressed in Display P3, as an iPhone would store them."""
    return image.icc_transform("p3", input_profile="srgb", embedded=False).cast("uchar")


def solid(colour: tuple[int, int, int], size: tuple[int, int] = (1, 1)) -> pyvips.Image:
    image = pyvips.Image.black(*size, bands=3) + list(colour)
    return image.cast("uchar").copy(interpretation="srgb")


def to_pillow(image: pyvips.Image) -> Image.Image:
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[image.bands]
    return Image.frombytes(mode, (image.width, image.height), image.write_to_memory())


def phone_jpeg(
    width: int = 4032,
    height: int = 3024,
    *,
    seed: int = 0,
    orientation: int = 1,
    display_p3: bool = False,
    blur: float = 0.0,
    gain: float = 1.0,
    offset: float = 0.0,
    quality: int = 90,
    pixels: pyvips.Image | None = None,
) -> bytes:
    """A phone-like JPEG with EXIF and GPS; optionally in Display P3, blurred or mis-exposed.

    blur is the Gaussian sigma in pixels of this size; gain and offset change the exposure the way
    a wrong one does, clipping at black and white. Pass pixels (from skin_pixels) to reuse them.
    """
    if pixels is None:
        pixels = skin_pixels(width, height, seed)
    if blur:
        pixels = pixels.gaussblur(blur).cast("uchar")
    if gain != 1.0 or offset:
        pixels = pixels.linear([gain] * 3, [offset] * 3).cast("uchar")  # cast clips to 0-255
    extra = {}
    if display_p3:
        pixels = to_display_p3(pixels)
        extra["icc_profile"] = display_p3_profile()
    out = io.BytesIO()
    to_pillow(pixels).save(out, format="JPEG", quality=quality, exif=gps_exif(orientation), **extra)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Files to refuse, and files that hide something


def noise(length: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(length)  # noqa: S311 - a seeded fixture, not a secret


def encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def small_photo(size: tuple[int, int] = (64, 48)) -> Image.Image:
    return to_pillow(skin_pixels(*size, seed=7))


def frames(count: int = 3) -> list[Image.Image]:
    return [Image.new("RGB", (32, 32), (40 * n, 100, 200 - 40 * n)) for n in range(count)]


def animated(image_format: str) -> bytes:
    first, *rest = frames()
    return encoded(first, image_format, save_all=True, append_images=rest, duration=100, loop=0)


def pdf_with_a_jpeg_inside() -> bytes:
    """A real PDF whose only page is a JPEG (Pillow writes it with the DCTDecode filter)."""
    return encoded(small_photo(), "PDF")


def svg() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b'<script>alert(document.cookie)</script><rect width="10" height="10" fill="tan"/></svg>'
    )


def html() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def zip_archive() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", html())
    return out.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def png_header_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG that claims 10 gigapixels in a few dozen bytes: refused from the header."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def png_zlib_bomb(side: int = 8000) -> bytes:
    """A real, decodable 64-megapixel black PNG that compresses to a few kilobytes."""
    return encoded(Image.new("1", (side, side)), "PNG", optimize=True)


def jpeg_header_bomb() -> bytes:
    """A JPEG whose frame header claims 65 000 × 65 000 pixels, the largest JPEG allows."""
    data = encoded(Image.new("RGB", (16, 16), (200, 150, 130)), "JPEG")
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", 65000, 65000) + data[sof + 9 :]


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def corrupted(data: bytes) -> bytes:
    """Damage a file the way a bad disk or a broken copy does: garbage where data should be.

    In a JPEG we spoil the Huffman table, which decoders must refuse; a stray byte in the
    entropy-coded data is only a warning to them, shown as a grey smear, like a truncated file
    in any photo viewer. In other formats we overwrite bytes in the middle.
    """
    if data.startswith(b"\xff\xd8"):
        table = data.index(b"\xff\xc4") + 5  # After the marker, the length and the class byte.
        return data[:table] + b"\xff" * 16 + data[table + 16 :]
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0x5A for b in data[middle : middle + 64]) + data[middle + 64 :]


def jpeg_with_appended(payload: bytes) -> bytes:
    """A polyglot: a valid JPEG with an archive or a web page after its end marker."""
    return encoded(small_photo(), "JPEG") + payload


def jpeg_javascript_polyglot() -> bytes:
    """A JPEG that is also valid JavaScript (the classic CSP bypass).

    Its JFIF segment length is 0x2F2A, the bytes "/*", which opens a JS comment; the script sits
    in a COM segment after a "*/" and ends by opening another comment that the JPEG's last bytes
    close. Decoders read it as an ordinary photo.
    """
    photo = encoded(small_photo(), "JPEG")
    assert photo[2:4] == b"\xff\xe0"  # The JFIF APP0 segment comes first.
    app0_length = int.from_bytes(photo[4:6], "big")
    padding = 0x2F2A - app0_length
    app0 = b"\xff\xe0\x2f\x2a" + photo[6 : 4 + app0_length] + b"\x00" * padding
    script = b"*/=alert('polyglot');/*"
    comment = b"\xff\xfe" + struct.pack(">H", len(script) + 2) + script
    rest = photo[4 + app0_length : -2]
    return b"\xff\xd8" + app0 + comment + rest + b"*/\xff\xd9"


def jpeg_with_every_kind_of_metadata() -> bytes:
    """A photo carrying EXIF with GPS, XMP, IPTC, an ICC profile and a comment."""
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"'
        b' photoshop:City="Hammerfest"/></rdf:RDF></x:xmpmeta>'
    )
    photo = encoded(
        small_photo((320, 240)),
        "JPEG",
        exif=gps_exif(1),
        xmp=xmp,
        comment=b"patient Kari Nordmann",
        icc_profile=display_p3_profile(),
    )
    return insert_segment(photo, 0xED, iptc_block(b"Kari Nordmann"))


def iptc_block(name: bytes) -> bytes:
    """Photoshop 3.0 APP13 with one IPTC record: 2:80 By-line."""
    record = b"\x1c\x02\x50" + struct.pack(">H", len(name)) + name
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(record)) + record
    return b"Photoshop 3.0\x00" + resource


def insert_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    segment = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def jpeg_segments(data: bytes) -> tuple[list[int], bytes]:
    """The markers of a JPEG up to its end, and any bytes after the end marker."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, at = [0xD8], 2
    while at < len(data):
        assert data[at] == 0xFF, f"no marker at {at}"
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xD9:
            return markers, data[at + 2 :]
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        at += 2 + length
        if marker == 0xDA or 0xD0 <= marker <= 0xD7:  # Entropy-coded data runs to a marker.
            while not (data[at] == 0xFF and data[at + 1] not in (0x00, *range(0xD0, 0xD8))):
                at += 1
    return markers, b""


def heic(image: Image.Image, **options: object) -> bytes:
    """An iPhone-style HEIC (pillow-heif's encoder; libheif turns EXIF orientation into irot)."""
    import pillow_heif

    out = io.BytesIO()
    pillow_heif.from_pillow(image).save(out, quality=80, **options)
    return out.getvalue()


def quadrants(size: tuple[int, int] = (90, 60)) -> Image.Image:
    """Four colours, one per corner, so any turn or flip shows."""
    width, height = size
    image = Image.new("RGB", size, (230, 30, 30))  # top left: red
    image.paste((30, 200, 30), (width // 2, 0, width, height // 2))  # top right: green
    image.paste((30, 30, 230), (0, height // 2, width // 2, height))  # bottom left: blue
    image.paste((240, 240, 240), (width // 2, height // 2, width, height))  # bottom right: white
    return image
