"""Photo processing against a plain Pillow pipeline, on phone-like 12-megapixel JPEGs.

scripts/bench.py puts photo_processing_rows() into docs/benchmarks.md; run this file alone with
`.venv/bin/python scripts/bench_photos.py`. The goal (docs/adr/0014-photo-processing-engine.md):
a median of at most 150 ms of CPU per photo, and at least three times faster than the baseline.
Both are timed in the same run, photo by photo in turn, so a busy machine slows both alike.
"""

from __future__ import annotations

import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import PIL
import pyvips
from PIL import Image, ImageOps

from telederm.photos.processing import QualityThresholds, process_upload
from telederm.photos.tests import corpus

# The defaults of TELEDERM_PHOTO_* in telederm/settings.py.
LIMITS = {"max_bytes": 25 * 1024 * 1024, "max_pixels": 50_000_000, "long_edge": 2560}
THRESHOLDS = QualityThresholds(min_focus=30.0, max_clipped=0.08, min_short_edge=1000)
EDGES = ((2560, 90), (1600, 85), (320, 80))  # Long edge and JPEG quality of each rendition.


def phone_photos(count: int) -> list[tuple[str, bytes]]:
    """Phone-like 12-MP JPEGs at quality 90 with EXIF and GPS, labelled by colour profile.

    Half carry a Display P3 profile like an iPhone's, half none like many Android phones; every
    other one is stored on its side with EXIF orientation 6, as a phone held upright does.
    """
    return [
        (
            "Display P3" if seed % 4 < 2 else "sRGB",
            corpus.phone_jpeg(seed=seed, orientation=6 if seed % 2 else 1, display_p3=seed % 4 < 2),
        )
        for seed in range(count)
    ]


def pillow_baseline(data: bytes) -> list[bytes]:
    """The plain way: decode it all, turn it, LANCZOS from the full image to each size, optimize."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    outputs = []
    for edge, quality in EDGES:
        scale = min(1.0, edge / max(image.size))
        size = (round(image.width * scale), round(image.height * scale))
        out = io.BytesIO()
        image.resize(size, Image.Resampling.LANCZOS).save(
            out, format="JPEG", quality=quality, optimize=True
        )
        outputs.append(out.getvalue())
    return outputs


def client_compressed(data: bytes, *, long_edge: int, quality: float) -> bytes:
    """What the browser's compressor sends: the photo drawn at `long_edge`, then JPEG at quality.

    A stand-in for canvas.drawImage and canvas.toBlob("image/jpeg", quality): browsers encode with
    libjpeg(-turbo) at 4:2:0 and write no metadata, as Pillow does here.
    """
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    image.thumbnail((long_edge, long_edge), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=round(quality * 100))
    return out.getvalue()


def ours(data: bytes) -> object:
    return process_upload(io.BytesIO(data), **LIMITS, thresholds=THRESHOLDS)


def timed(action: Callable[[bytes], object], data: bytes) -> tuple[float, float]:
    """CPU milliseconds (all threads of the process) and wall milliseconds of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    action(data)
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def row(name: str, samples: list[tuple[float, float]]) -> str:
    cpu = statistics.median(sample[0] for sample in samples)
    wall = [sample[1] for sample in samples]
    return (
        f"| {name} | {len(samples)} | {cpu:.0f} | {statistics.median(wall):.0f} | {max(wall):.0f} |"
    )


def megabytes(sizes: list[int]) -> str:
    return f"{statistics.median(sizes) / 1_000_000:.2f}"


def photo_processing_rows(
    photos: int = 20, rounds: int = 2, client_long_edge: int = 2560, client_quality: float = 0.85
) -> list[str]:
    """A markdown section (heading, notes, two tables): CPU and wall times, and bytes sent."""
    load = os.getloadavg()[0]
    made = phone_photos(photos)
    sent = [
        client_compressed(data, long_edge=client_long_edge, quality=client_quality)
        for _, data in made
    ]
    by_profile: dict[str, list[tuple[float, float]]] = {"Display P3": [], "sRGB": []}
    baseline: list[tuple[float, float]] = []
    compressed: list[tuple[float, float]] = []
    for _ in range(rounds):
        for (profile, data), small in zip(made, sent, strict=True):
            by_profile[profile].append(timed(ours, data))
            baseline.append(timed(pillow_baseline, data))
            compressed.append(timed(ours, small))
    everything = by_profile["Display P3"] + by_profile["sRGB"]
    speedup = [
        statistics.median(s[i] for s in baseline) / statistics.median(s[i] for s in everything)
        for i in (0, 1)
    ]
    original = [len(data) for _, data in made]
    stored = [
        len(process_upload(io.BytesIO(data), **LIMITS, thresholds=THRESHOLDS).full.content)
        for _, data in made
    ]
    with_profile = sum(1 for profile, _ in made if profile == "Display P3")
    saved = 1 - statistics.median(len(data) for data in sent) / statistics.median(original)
    return [
        "## Photo processing",
        "",
        f"Made by scripts/bench_photos.py: {photos} phone-like 12-MP JPEGs (4032 × 3024, quality "
        f"90, EXIF with GPS; {with_profile} with a Display P3 profile like an iPhone's, "
        f"{photos - with_profile} without one like many Android phones; every other one turned by "
        f"EXIF orientation 6), each processed {rounds} times, ours and the baseline in turn. CPU "
        "is `time.process_time` (all threads), wall is `time.perf_counter`. libvips "
        f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} with "
        f"{pyvips.concurrency_get()} threads, Pillow {PIL.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, load average {load:.1f} at the "
        "start. The speed-up compares the first row with the baseline.",
        "",
        "| step | runs | median CPU ms | median wall ms | worst wall ms |",
        "|---|---:|---:|---:|---:|",
        row(
            "Ours: `process_upload` (libvips: decode, upright, sRGB, 3 renditions, checks)",
            everything,
        ),
        row("… photos with a Display P3 profile", by_profile["Display P3"]),
        row("… photos without a profile (sRGB)", by_profile["sRGB"]),
        row(
            f"Ours on the same photos as the browser sends them ({client_long_edge} px, quality "
            f"{client_quality:g})",
            compressed,
        ),
        row("Baseline: plain Pillow (full decode, transpose, LANCZOS × 3, optimize)", baseline),
        f"| Speed-up (baseline median ÷ ours) | | {speedup[0]:.1f}× | {speedup[1]:.1f}× | |",
        "",
        "| bytes per photo | median MB |",
        "|---|---:|",
        f"| As the phone saved it (12 MP, quality 90) | {megabytes(original)} |",
        f"| Sent after the browser's compression ({client_long_edge} px, quality "
        f"{client_quality:g}) | {megabytes([len(data) for data in sent])} |",
        f"| Stored full rendition ({LIMITS['long_edge']} px, quality 90) | {megabytes(stored)} |",
        f"| Bytes saved on the way up by compressing in the browser | {100 * saved:.0f} % |",
        "",
    ]


if __name__ == "__main__":
    print("\n".join(photo_processing_rows()))
