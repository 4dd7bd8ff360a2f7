"""Valid seed inputs per parser, built here (or read in place), and the cases made from them.

Each ``*_cases(corpus, rng, index)`` returns one :class:`~fuzz_harness.Case`:
a seed input, mutated, and the command that reads it. Seeds are written in
this file or made by vmksim itself (an esxtop capture from ``vmksim run``,
VMFS5 volumes from tests/vmfs_synth.py, ELF files from gcc when it is there);
repository fixtures are read in place, the real VMFS images in
../shared/data/vmfs only read, never copied.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fuzz_harness import SPECIALS, Case
from fuzz_mutate import mutate_argument, mutate_binary, mutate_text

from elf_samples import dynamic_without_string_table, elf32_bytes
from vmfs_synth import MIB, Synth

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
REAL_VMFS = ROOT.parent / "shared" / "data" / "vmfs"
SPECIAL_SHARE = 0.05
"""Share of cases whose input path is a special file instead of the mutated input."""
GZ_SHARE = 0.1
"""Share of VMFS cases that read a damaged gzip image instead of a damaged raw one."""
CHUNK = 4096
"""Granularity of a sparse image skeleton: the nonzero 4 KiB blocks of an image."""

SCENARIOS = [
    """name = "small"
[host]
sockets = 1
cores_per_socket = 4
mhz = 2000
memory_gb = 32
[run]
duration_s = 1
interval_s = 0.5
seed = 3
[[vm]]
name = "web"
vcpus = 2
memory_gb = 4
[vm.workload]
kind = "onoff"
busy_ms = 2
idle_ms = 6
distribution = "hyperexponential"
cv2 = 4
[[vm]]
name = "db"
vcpus = 2
[vm.settings]
"sched.cpu.shares" = "high"
"sched.cpu.min" = 500
"sched.cpu.max" = 3000
[vm.workload]
kind = "constant"
demand_pct = 80
""",
    """esxi = "7.0"
[host]
preset = "tiny-1x4"
[host.settings]
"Numa.PreferHT" = 1
[run]
duration_s = 1
interval_s = 0.5
[[pool]]
name = "gold"
shares = "high"
reservation_mhz = 1000
limit_mhz = 8000
[[vm]]
name = "poll"
count = 2
vcpus = 1
pool = "gold"
[vm.workload]
kind = "periodic"
period_ms = 2.0
work_ms = 0.5
active_memory_pct = 50
[[vm]]
name = "threads"
vcpus = 2
[vm.workload]
kind = "threads"
threads = 1
busy_ms = 3
idle_ms = 3
""",
]

VMX = """.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "app |22x|22"
numvcpus = "16"
cpuid.coresPerSocket = "8"
memSize = "65536"
sched.cpu.shares = "high"
sched.cpu.min = "2000"
sched.cpu.latencySensitivity = "high"
numa.vcpu.preferHT = "TRUE"
numa.nodeAffinity = "0,1"
numa.vcpu.maxPerVirtualNode = "8"
"""

HOST_SPECS = [
    "sockets=2,cores_per_socket=24,threads_per_core=2,numa_nodes=2,memory_gb=768",
    "sockets=1,cores_per_socket=8,threads_per_core=1,numa_nodes=1,memory_gb=64,mhz=2400",
    "sockets=4,cores_per_socket=14,threads_per_core=2,numa_nodes=8,memory_gb=1024",
    "nfv-2x24-ht",
    "epyc-2x64-nps4",
]

HOST_TOML = """[host]
sockets = 2
cores_per_socket = 10
threads_per_core = 2
numa_nodes = 2
memory_gb = 256
"""


@dataclass
class Corpus:
    """Seed inputs per parser, built once per test session."""

    texts: dict[str, list[bytes]] = field(default_factory=dict)
    elves: list[bytes] = field(default_factory=list)
    images: list[tuple[int, list[tuple[int, bytes]], list[str]]] = field(default_factory=list)
    """(size, nonzero chunks, paths inside) per VMFS image."""
    gz_image: bytes = b""
    """The synthetic VMFS image gzip-compressed (its compressed bytes get mutated)."""


def _skeleton(path: Path) -> tuple[int, list[tuple[int, bytes]]]:
    """The nonzero CHUNK-byte blocks of a (possibly gzip) image, read as a stream."""
    chunks, pos = [], 0
    with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            if block.count(0) != len(block):
                chunks.append((pos, block))
            pos += len(block)
    return pos, chunks


def _synth_image(tmp: Path) -> tuple[int, list[tuple[int, bytes]], list[str]]:
    s = Synth(size=16 * MIB)
    s.add_file("resident", 5, 4305, resident=b"hello")
    s.add_file("direct", MIB + 10, 1, [s.data(10, b"A" * 4096), s.data(11, b"B" * 10)])
    pb = s.pointer_block({0: s.data(12, b"C" * 4096), 2: s.data(13, b"D" * 100)})
    s.add_file("indirect", 2 * MIB + 100, 3, [pb])
    inner = s.pointer_block({1: s.data(14, b"E" * 7)})
    s.add_file("double", 3 * 1024 * MIB + MIB + 7, 4304, [s.pointer_block({3: inner})])
    s.add_file("link", 8, 4305, resident=b"resident", ftype=4, mode=0o777)
    s.add_file("loop", 4, 4305, resident=b"loop", ftype=4, mode=0o777)
    s.add_file("sub", 3, 4305, resident=b"sub", ftype=2, mode=0o755)
    image = s.write(tmp / "synth.img")
    size, chunks = _skeleton(image)
    paths = ["/resident", "/direct", "/indirect", "/double", "/link", "/loop", "/sub", "/", "/.fdc.sf"]
    return size, chunks, paths


def _gcc_elves(tmp: Path) -> list[bytes]:
    gcc = shutil.which("gcc")
    if gcc is None:
        return []
    src = tmp / "m.c"
    src.write_text(
        '#include <stdio.h>\n#include <math.h>\nint main(int c, char **v) { printf("%f", sqrt(c)); }\n'
    )
    out = []
    for name, flags in (("dyn", ["-lm"]), ("lib.so", ["-shared", "-fPIC"]), ("obj.o", ["-c"])):
        subprocess.run([gcc, "-O1", "-o", str(tmp / name), str(src), *flags], check=True, capture_output=True)
        out.append((tmp / name).read_bytes())
    return out


def _capture(tmp: Path, scenario: str) -> bytes:
    """An esxtop batch capture written by `vmksim run --batch` from *scenario*."""
    from vmksim.cli import main

    (tmp / "s.toml").write_text(scenario)
    out = tmp / "c.csv"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["run", str(tmp / "s.toml"), "--batch", str(out), "--no-progress", "--engine", "python"])
    assert code == 0, f"the capture seed did not build (exit {code})"
    return out.read_bytes()


def build_corpus(real_images: bool) -> Corpus:
    c = Corpus()
    with tempfile.TemporaryDirectory(prefix="vmksim-fuzz-") as name:
        tmp = Path(name)
        c.texts["scenario"] = [s.encode() for s in SCENARIOS]
        c.texts["vmx"] = [VMX.encode(), (FIXTURES / "vmx" / "sql01.vmx").read_bytes()]
        c.texts["hwloc"] = [
            (FIXTURES / "topology" / n).read_bytes() for n in ("this-machine.xml", "synthetic-2x24-ht.xml")
        ]
        c.texts["esxcli"] = [(FIXTURES / "topology" / "esxcli-2x10-ht.txt").read_bytes()]
        c.texts["host"] = [s.encode() for s in HOST_SPECS]
        c.texts["host-toml"] = [HOST_TOML.encode()]
        c.texts["esxtop"] = [_capture(tmp, SCENARIOS[0]), (FIXTURES / "esxtop" / "names.csv").read_bytes()]
        c.elves = [elf32_bytes(), dynamic_without_string_table(), *_gcc_elves(tmp)]
        c.images.append(_synth_image(tmp))
        c.gz_image = gzip.compress((tmp / "synth.img").read_bytes(), compresslevel=6, mtime=0)
    if real_images:
        for version in (5, 6):
            path = REAL_VMFS / f"vmfs{version}.bin.gz"
            if path.exists():
                size, chunks = _skeleton(path)
                paths = ["/directory/file5", "/directory/symlink", "/directory", "/", "/.fbb.sf"]
                c.images.append((size, chunks, paths))
    return c


# --------------------------------------------------------------------------- cases per parser
def _input(name: str, data: bytes, rng: random.Random) -> dict[str, bytes | str]:
    """The case's input file: the mutated bytes, or now and then a special file in its place."""
    if rng.random() < SPECIAL_SHARE:
        special = rng.choice(SPECIALS)
        files: dict[str, bytes | str] = {} if special == "missing" else {name: special}
        if special == "symlink":
            files = {"target.bin": data, name: "symlink"}
        return files
    return {name: data}


def scenario_case(c: Corpus, rng: random.Random, i: int) -> Case:
    data = mutate_text(rng.choice(c.texts["scenario"]), rng)
    argv = ["run", "s.toml", "--duration", "1", "-d", "0.5", "--no-progress", "--engine", "python"]
    outputs: frozenset[str] = frozenset()
    if rng.random() < 0.3:
        argv += ["--batch", "out.csv"]
        outputs = frozenset({"out.csv"})
    return Case("scenario", i, argv, _input("s.toml", data, rng), outputs)


def vmx_case(c: Corpus, rng: random.Random, i: int) -> Case:
    data = mutate_text(rng.choice(c.texts["vmx"]), rng)
    host = rng.choice(["nfv-2x24-ht", "xeon-2x10-ht", "epyc-2x64-nps4"])
    argv = ["plan", "--host", host, "a.vmx"] + (["--json"] if rng.random() < 0.5 else [])
    return Case("vmx", i, argv, _input("a.vmx", data, rng))


def _topology_case(parser: str, name: str, c: Corpus, rng: random.Random, i: int, seeds: str = "") -> Case:
    data = mutate_text(rng.choice(c.texts[seeds or parser]), rng)
    argv = ["topology", "show", name] if rng.random() < 0.7 else ["plan", f"--host={name}", "--vcpus", "4"]
    return Case(parser, i, argv, _input(name, data, rng))


def hwloc_case(c: Corpus, rng: random.Random, i: int) -> Case:
    return _topology_case("hwloc", "host.xml", c, rng, i)


def esxcli_case(c: Corpus, rng: random.Random, i: int) -> Case:
    return _topology_case("esxcli", "esxcli.txt", c, rng, i)


def host_case(c: Corpus, rng: random.Random, i: int) -> Case:
    if rng.random() < 0.2:
        return _topology_case("host", "host.toml", c, rng, i, seeds="host-toml")
    spec = mutate_argument(rng.choice(c.texts["host"]).decode(), rng)
    argv = (
        ["topology", "show", "--", spec] if rng.random() < 0.5 else ["plan", f"--host={spec}", "--vcpus", "2"]
    )
    return Case("host", i, argv)


def esxtop_case(c: Corpus, rng: random.Random, i: int) -> Case:
    data = mutate_text(rng.choice(c.texts["esxtop"]), rng)
    argv = ["analyze", "c.csv"] + (["--json"] if rng.random() < 0.5 else [])
    return Case("esxtop", i, argv, _input("c.csv", data, rng))


def elf_case(c: Corpus, rng: random.Random, i: int) -> Case:
    data = mutate_binary(rng.choice(c.elves), rng)
    argv = ["elf", "check", "bin"] + (["--json"] if rng.random() < 0.5 else [])
    return Case("elf", i, argv, _input("bin", data, rng))


def vmfs_case(c: Corpus, rng: random.Random, i: int) -> Case:
    size, chunks, paths = rng.choice(c.images)
    chunks = list(chunks)
    for _ in range(rng.randint(1, 4)):
        k = rng.randrange(len(chunks))
        chunks[k] = (chunks[k][0], mutate_binary(chunks[k][1], rng, truncate=False))
    if rng.random() < 0.1:
        size = rng.randrange(size)
    path = rng.choice(paths)
    if rng.random() < 0.1:
        path = mutate_argument(path, rng)
    command = rng.choice(["info", "ls", "ls-l", "tree", "stat", "cat", "extract"])
    # "--": a mutated path may start with "-", which a user would also pass after "--"
    argv = {
        "info": ["vmfs", "info", "image.img"],
        "ls": ["vmfs", "ls", "--json", "-a", "--", "image.img", path],
        "ls-l": ["vmfs", "ls", "-l", "--", "image.img", path],
        "tree": ["vmfs", "tree", "--", "image.img", path],
        "stat": ["vmfs", "stat", "--", "image.img", path],
        "cat": ["vmfs", "cat", "--", "image.img", path],
        "extract": ["vmfs", "extract", "--", "image.img", path, "out.bin"],
    }[command]
    outputs = frozenset({"out.bin"}) if command == "extract" else frozenset()
    if rng.random() < GZ_SHARE:  # a damaged gzip image: the inflation path
        return Case("vmfs", i, argv, {"image.img": mutate_binary(c.gz_image, rng)}, outputs)
    return Case("vmfs", i, argv, outputs=outputs, image=(size, chunks))


CAMPAIGNS: dict[str, Callable[[Corpus, random.Random, int], Case]] = {
    "scenario": scenario_case,
    "vmx": vmx_case,
    "hwloc": hwloc_case,
    "esxcli": esxcli_case,
    "host": host_case,
    "esxtop": esxtop_case,
    "vmfs": vmfs_case,
    "elf": elf_case,
}
