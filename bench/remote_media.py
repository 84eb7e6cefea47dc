"""What fetching and checking a remote file costs this process. Prints figures, judges nothing.

    .venv/bin/python bench/remote_media.py [--video-mb 95]

An origin on 127.0.0.1 (aiohttp, another process) serves a video-sized file and an
oversized one; ``Fetcher.download`` (the code path of ``services.remote_media``) streams
each to a temporary file under the cap of its kind, and ``remote_media.checked_type``
checks the result. Printed: the time and rate of each download, this process's peak
Python heap during it (tracemalloc: what a download holds in memory, which must stay at a
chunk or so, not the file), the bytes read before an oversized file was refused, and the
check's time for a large PNG and for the video; the machine's RSA sign rate beside them.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import platform
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from PIL import Image  # noqa: E402

from activitypub.fetch import Fetcher, FetchError  # noqa: E402
from bench.federation import sign_rate  # noqa: E402
from fediverse_intranet.services.remote_media import MAX_BYTES, checked_type  # noqa: E402

MB = 1024 * 1024
CHUNK = b"\0" * MB


def _origin(port_out, video_mb: int) -> None:
    """A file server: /video.mp4 (an MP4 header, then zeros) and /huge.png (too large)."""
    head = (24).to_bytes(4, "big") + b"ftypisom\x00\x00\x02\x00isomiso2" + (8).to_bytes(4, "big")

    async def stream(request: web.Request) -> web.StreamResponse:
        size = video_mb if request.path == "/video.mp4" else 200
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        await response.prepare(request)
        try:
            await response.write(head + b"free")
            for _ in range(size):
                await response.write(CHUNK)
        except (ConnectionError, RuntimeError):
            pass  # refused at the cap: the reader hung up
        return response

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{name}", stream)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_out.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


async def _download(fetcher: Fetcher, url: str, cap: int) -> tuple[float, int, int, str]:
    """Seconds, bytes written, peak traced heap growth, and the outcome."""
    with tempfile.TemporaryFile() as sink:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        outcome = "kept"
        try:
            await fetcher.download(url, sink, max_bytes=cap, seconds=300)
        except FetchError as exc:
            outcome = f"refused: {exc}"
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        return seconds, sink.tell(), peak, outcome


def _check_time(path: Path, kind: str) -> float:
    start = time.perf_counter()
    checked_type(path, kind)
    return time.perf_counter() - start


async def _run(args: argparse.Namespace, port: int) -> None:
    fetcher = Fetcher("http://bench.invalid", allowed_networks=["127.0.0.0/8"])
    base = f"http://127.0.0.1:{port}"
    print(f"{'file':>22} {'MB read':>8} {'s':>6} {'MB/s':>7} {'peak heap KB':>13}  outcome")
    for name, url, cap in (
        (f"video {args.video_mb} MB", f"{base}/video.mp4", MAX_BYTES["video"]),
        ("200 MB, video cap", f"{base}/huge.mp4", MAX_BYTES["video"]),
        ("200 MB, image cap", f"{base}/huge.png", MAX_BYTES["image"]),
    ):
        seconds, written, peak, outcome = await _download(fetcher, url, cap)
        rate = written / MB / seconds if seconds else 0
        print(
            f"{name:>22} {written / MB:>8.1f} {seconds:>6.2f} {rate:>7.0f} {peak / 1024:>13,.0f}"
            f"  {outcome}"
        )
    await fetcher.close()

    with tempfile.TemporaryDirectory() as folder:
        image = Path(folder) / "large.png"
        side = 6000  # 36 MP, under the 40 MP bound; noise so it is megabytes, not kilobytes
        noise = Image.effect_noise((side, side), 64).convert("RGB")
        buffer = io.BytesIO()
        noise.save(buffer, format="PNG", compress_level=1)
        image.write_bytes(buffer.getvalue())
        video = Path(folder) / "video.mp4"
        video.write_bytes(
            (24).to_bytes(4, "big") + b"ftypisom\x00\x00\x02\x00isomiso2" + b"\0" * (10 * MB)
        )
        png_mb = image.stat().st_size / MB
        print(f"check of a {side}x{side} PNG ({png_mb:.0f} MB): "
              f"{_check_time(image, 'image') * 1000:.0f} ms; "
              f"of a video: {_check_time(video, 'video') * 1000:.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video-mb", type=int, default=95)
    args = parser.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}, ", end="")
    print(f"RSA-2048 sign rate {sign_rate():,.0f}/s")
    receive, send = multiprocessing.Pipe(duplex=False)
    origin = multiprocessing.Process(target=_origin, args=(send, args.video_mb), daemon=True)
    origin.start()
    try:
        asyncio.run(_run(args, receive.recv()))
    finally:
        origin.terminate()
        origin.join()


if __name__ == "__main__":
    main()
