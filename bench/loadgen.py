"""A small closed-loop load generator on loopback: N users, each with its session and its mix of pages.

Each user requests a page, waits for the whole answer, thinks for a random time, and goes again until
the run's time is up; a request counts as an error when it fails or answers anything but 200. Only
127.0.0.1 is ever addressed, and every run stops by itself after `seconds`.

Written on asyncio with plain sockets (one connection per request, as gunicorn's sync workers close
them anyway) so that it needs nothing installed and spends little of the two cores it shares with
the server it measures.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time

HOST = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class Page:
    name: str
    path: str
    weight: float


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


async def _get(port: int, path: str, cookie: str) -> int:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        head = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n"
        if cookie:
            head += f"Cookie: {cookie}\r\n"
        writer.write((head + "\r\n").encode())
        await writer.drain()
        data = await reader.read()  # until the server closes: the whole answer
        return int(data[9:12]) if data.startswith(b"HTTP/1.") else 0
    finally:
        writer.close()
        with _suppress():
            await writer.wait_closed()


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True


async def _user(port, cookie, pages, think, deadline, rng, samples, errors):
    weights = [p.weight for p in pages]
    await asyncio.sleep(rng.uniform(0, think[1]))  # users do not all arrive in the same millisecond
    while time.monotonic() < deadline:
        page = rng.choices(pages, weights)[0]
        started = time.perf_counter()
        try:
            status = await asyncio.wait_for(_get(port, page.path, cookie), timeout=30)
        except (TimeoutError, OSError):
            status = 0
        elapsed = (time.perf_counter() - started) * 1000
        samples.append((page.name, elapsed))
        if status != 200:
            errors.append((page.name, status))
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))


async def _run(port, sessions, think, seconds, seed):
    rng = random.Random(seed)
    samples: list[tuple[str, float]] = []
    errors: list[tuple[str, int]] = []
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _user(port, cookie, pages, think, deadline, random.Random(rng.random()), samples, errors)
            for cookie, pages in sessions
        )
    )
    return samples, errors, time.monotonic() - started


def run_load(port: int, sessions, think=(5.0, 10.0), seconds: float = 60.0, seed: int = 1) -> dict:
    """Run one load and return requests, rate, p50/p95/p99 in ms, errors, and p95 by page."""
    samples, errors, took = asyncio.run(_run(port, sessions, think, seconds, seed))
    times = [t for _, t in samples]
    by_page: dict[str, list[float]] = {}
    for name, t in samples:
        by_page.setdefault(name, []).append(t)
    error_kinds: dict[str, int] = {}
    for name, status in errors:
        key = f"{name}:{status}"
        error_kinds[key] = error_kinds.get(key, 0) + 1
    return {
        "requests": len(samples),
        "seconds": round(took, 1),
        "rps": round(len(samples) / took, 1),
        "p50_ms": round(_percentile(times, 50), 1),
        "p95_ms": round(_percentile(times, 95), 1),
        "p99_ms": round(_percentile(times, 99), 1),
        "errors": len(errors),
        "error_kinds": error_kinds,
        "by_page": {name: round(_percentile(v, 95), 1) for name, v in sorted(by_page.items())},
    }
