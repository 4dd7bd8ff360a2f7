"""The HTML report: one self-contained file, rendered in real headless Chromium, plots checked in pixels.

The screenshot is decoded with a tiny PNG reader (zlib + struct; PIL is not a
dependency) and the plot regions are checked for drawn traces: plotly's trace
colours, the heatmap's reds, and coverage of non-white pixels band by band —
not only that a file exists.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from vmksim.analyze import analyze_file
from vmksim.analyze.synth import VmScript, write_scripted_capture
from vmksim.topology.presets import PRESETS

HOST = PRESETS["xeon-2x10-ht"]
CHROMIUM = (
    shutil.which("chromium")
    or shutil.which("chromium-browser")
    or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
)
WIDTH, HEIGHT = 1400, 2400
#: plotly's first two default trace colours (#636efa, #EF553B).
BLUE, RED = (99, 110, 250), (239, 85, 59)


def read_png(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG into an (H, W, 3) uint8 array."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, [], 0
    height = ctype = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        f, line = raw[start], raw[start + 1 : start + 1 + stride]
        if f == 0:
            cur = bytearray(line)
        elif f == 2:
            cur = bytearray(
                (
                    (np.frombuffer(line, np.uint8).astype(np.uint16) + np.frombuffer(bytes(prev), np.uint8))
                    & 0xFF
                )
                .astype(np.uint8)
                .tobytes()
            )
        else:  # Sub, Average, Paeth depend on the left neighbour: byte by byte
            cur = bytearray(line)
            for x in range(stride):
                a = cur[x - bpp] if x >= bpp else 0
                if f == 1:
                    pred = a
                elif f == 3:
                    pred = (a + prev[x]) >> 1
                else:
                    b = prev[x]
                    c = prev[x - bpp] if x >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur[x] = (cur[x] + pred) & 0xFF
        out[y] = np.frombuffer(bytes(cur), np.uint8)
        prev = cur
    return out.reshape(height, width, bpp)[:, :, :3].astype(np.uint8)


def near(img: np.ndarray, rgb: tuple[int, int, int], tol: int = 12) -> np.ndarray:
    return (np.abs(img.astype(np.int32) - np.array(rgb)) <= tol).all(axis=2)


def screenshot(html: Path, tmp_path: Path) -> np.ndarray:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make test installs it with scripts/system-deps.sh)")
    png = tmp_path / "shot.png"
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--window-size={WIDTH},{HEIGHT}",
        "--virtual-time-budget=5000", f"--screenshot={png}", html.resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(cmd, capture_output=True, timeout=90, check=False)
    assert png.exists(), "chromium wrote no screenshot"
    img = read_png(png)
    assert img.shape == (HEIGHT, WIDTH, 3)
    return img


def busy_capture(tmp_path: Path) -> Path:
    """14 VMs (a heatmap), one limited, one wide with poor locality, on a busy node 0."""
    vms = [
        VmScript(f"vm-{i:02d}", 4, run=40 + i, ready=4 + 2 * i, costop=i / 3, home_node=i % 2)
        for i in range(12)
    ]
    vms += [VmScript("capped", 4, run=30, ready=15, max_limited=12, cpu_max_mhz=2000, home_node=1)]
    vms += [VmScript("wide-db", 14, run=35, ready=3, local_pct=55, home_node=0)]
    path = tmp_path / "busy.csv"
    write_scripted_capture(path, HOST, vms, samples=12)
    return path


def test_report_is_one_self_contained_file(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "r.html"
    code, stdout, _ = run_cli("analyze", str(busy_capture(tmp_path)), "--report", str(out))
    assert code == 0 and f"report written to {out}" in stdout
    text = out.read_text()
    head, _, body = text.partition("</head>")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    # Nothing is fetched: no <script src>, no <link>, no remote URL outside plotly.js's own code.
    assert re.findall(r"<script[^>]*\bsrc=|<link\b|<img\b", text) == []
    assert re.findall(r"(?:src|href)=[\"']?https?:", body) == []
    assert len(head) > 1_000_000  # plotly.js inlined
    assert body.count("Plotly.newPlot") == 5 and body.count('<div id="fig') == 5
    assert "capped" in body and "remove the CPU limit" in body and "wide-db" in body
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


@pytest.mark.browser
def test_report_renders_plots_in_headless_chromium(tmp_path: Path) -> None:
    from vmksim.report import write_analysis_report

    html = tmp_path / "report.html"
    write_analysis_report(analyze_file(busy_capture(tmp_path)), html)
    img = screenshot(html, tmp_path)
    nonwhite = (img < 235).any(axis=2)
    # Every 300-px band below the title holds drawn content (plots are stacked down the page).
    bands = [float(nonwhite[y : y + 300].mean()) for y in range(150, HEIGHT - 300, 300)]
    assert min(bands) > 0.01, bands
    # Host utilisation lines and bar charts use plotly's trace colours.
    assert near(img, BLUE).sum() > 3000, near(img, BLUE).sum()
    assert near(img, RED).sum() > 1000, near(img, RED).sum()
    # The %RDY heatmap (14 VMs > MAX_LINES) paints a large block of YlOrRd colours.
    heat = (img[:, :, 0] > 150) & (img[:, :, 2] < 120) & (img[:, :, 1] < 230)
    assert heat.sum() > 50_000, heat.sum()
    # Many distinct colours: plots, not a blank page with text.
    colours = {tuple(c) for c in img[::4, ::4].reshape(-1, 3)[::7]}
    assert len(colours) > 200, len(colours)


def test_missing_plotly_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kw: object) -> object:
        if name == "plotly" or name.startswith("plotly."):
            raise ImportError(name)
        return real_import(name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", fake_import)
    out = tmp_path / "r.html"
    code, _, err = run_cli("analyze", str(busy_capture(tmp_path)), "--report", str(out))
    assert code == 1 and "needs the 'report' extra" in err and err.count("\n") == 1
    assert not out.exists()
