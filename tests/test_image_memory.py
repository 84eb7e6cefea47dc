"""Image decoding is bounded by memory, not only by pixel count (issue 19, point 11).

Four uploads at once, each in its own thread as ``asyncio.to_thread`` runs them, in a fresh
process whose peak RSS is measured (``bench/images.py``; Linux only). Before: four
6000x6000 PNGs grew the peak by 1.2 GB, four 4000x4000 by 620 MB, four progressive JPEGs
of 6000x6000 by 535 MB.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.images import make_images, peak_growth

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
MiB = 1024 * 1024
LIMIT = 220 * MiB  # on top of the ~100 MB of a running web process: about 300 MB in all


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_images(tmp_path_factory.mktemp("images"))


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("png-6000-rgba", "too_many_pixels"),  # 144 MB of pixels: refused before decoding
        ("png-4000-rgba", "ok"),  # 64 MB of pixels: decoded one at a time
        ("jpeg-6000-progressive", "too_many_pixels"),  # libjpeg would keep 108 MB
        ("jpeg-6000-baseline", "ok"),  # decoded at 1/2 scale (draft)
        ("png-bomb", "too_many_pixels"),
    ],
)
def test_four_parallel_uploads_stay_within_the_memory_budget(uploads, name, outcome):
    result = peak_growth(uploads[name], parallel=4)
    assert result["outcomes"] == [outcome] * 4
    assert result["growth"] < LIMIT, f"{name}: peak grew {result['growth'] / MiB:.0f} MiB"
