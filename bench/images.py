"""Peak memory of image uploads processed in parallel (issue 19, point 11).

Each case runs in a fresh Python process (Linux) that reads the file, resets its peak RSS
(``VmHWM``), processes the same upload in N threads at once (as N parallel uploads do:
``asyncio.to_thread``) and prints how far the peak grew. The images are made here first, so
making them costs the measured process nothing.

    PYTHONPATH=$PWD python bench/images.py            # four at once, each case
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import json, sys, threading
from fediverse_intranet import images
data = open(sys.argv[1], "rb").read()
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
def peak():
    return status("VmHWM")
# ru_maxrss and VmHWM carry over from the parent through fork and exec: start from now.
with open("/proc/self/clear_refs", "w") as reset:
    reset.write("5")
base = status("VmRSS")
outcomes = []
def work():
    try:
        images.process_attachment(data)
        outcomes.append("ok")
    except images.ImageRejected as exc:
        outcomes.append(exc.reason)
threads = [threading.Thread(target=work) for _ in range(int(sys.argv[2]))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"base": base, "growth": peak() - base, "outcomes": sorted(outcomes)}))
"""


def make_images(folder: Path) -> dict[str, Path]:
    """Uploads under 8 MB that are large once decoded, and a decompression bomb."""
    made = {}

    def save(name: str, image: Image.Image, fmt: str, **options: object) -> None:
        out = io.BytesIO()
        image.save(out, fmt, **options)
        made[name] = folder / name
        made[name].write_bytes(out.getvalue())

    save("png-6000-rgba", Image.new("RGBA", (6000, 6000), (10, 200, 30, 128)), "PNG")
    save("png-4000-rgba", Image.new("RGBA", (4000, 4000), (10, 200, 30, 128)), "PNG")
    save(
        "jpeg-6000-progressive",
        Image.new("RGB", (6000, 6000), (10, 200, 30)),
        "JPEG",
        progressive=True,
        quality=50,
    )
    save("jpeg-6000-baseline", Image.new("RGB", (6000, 6000), (10, 200, 30)), "JPEG")
    # A bomb: a tiny file whose header claims 20000 x 20000 (it compresses to almost nothing).
    save("png-bomb", Image.new("1", (20000, 20000)), "PNG")
    return made


def peak_growth(path: Path, parallel: int = 4) -> dict:
    """``growth``: bytes the peak RSS grew by; ``outcomes``: 'ok' or the refusal, per upload."""
    answer = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(parallel)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return json.loads(answer.stdout)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, path in make_images(Path(folder)).items():
            result = peak_growth(path)
            print(
                f"{name:24} {path.stat().st_size / 1e6:5.2f} MB file, 4 at once: peak RSS "
                f"+{result['growth'] / 2**20:6.0f} MiB (from {result['base'] / 2**20:.0f} MiB)"
                f"  {', '.join(result['outcomes'])}"
            )


if __name__ == "__main__":
    main()
