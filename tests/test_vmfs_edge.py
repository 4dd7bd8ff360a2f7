"""vmksim.vmfs on synthetic VMFS5 volumes: every addressing mode, corrupt images, big sparse files."""

from __future__ import annotations

import itertools
import struct
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmfs_synth import FS3, MIB, Synth, fd_addr
from vmksim.cli import main
from vmksim.errors import VmfsError
from vmksim.vmfs import Vmfs
from vmksim.vmfs.address import AddrType, decode


def _open(s: Synth, tmp_path: Path) -> Vmfs:
    return Vmfs.open([str(s.write(tmp_path / "synth.img"))])


def test_every_vmfs5_addressing_mode(tmp_path: Path) -> None:
    s = Synth()
    s.add_file("resident", 5, 4305, resident=b"hello")
    s.add_file("direct", MIB + 10, 1, [s.data(10, b"A" * MIB), s.data(11, b"B" * 10)])
    pb = s.pointer_block({0: s.data(12, b"C" * MIB), 2: s.data(13, b"D" * 100)})
    s.add_file("indirect", 2 * MIB + 100, 3, [pb])
    inner = s.pointer_block({1: s.data(14, b"E" * 7)})
    outer = s.pointer_block({3: inner})
    s.add_file("double", 3 * 1024 * MIB + MIB + 7, 4304, [outer])
    fs = _open(s, tmp_path)
    assert fs.lookup("/resident").read() == b"hello"
    assert fs.lookup("/direct").read() == b"A" * MIB + b"B" * 10
    assert fs.lookup("/indirect").read() == b"C" * MIB + bytes(MIB) + b"D" * 100
    dbl = fs.lookup("/double")
    assert dbl.read(3 * 1024 * MIB + MIB - 2, 100) == b"\0\0" + b"E" * 7
    assert [(e.offset, e.volume) for e in dbl.extents()][-1] == (3 * 1024 * MIB + MIB, 14 * MIB)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.none(), st.binary(min_size=1, max_size=64)), min_size=1, max_size=12))
def test_sparse_read_matches_model(tmp_path: Path, blocks: list[bytes | None]) -> None:
    """Property: a direct-block file reads back as its blocks, holes as zeros, extents tile [0, size)."""
    s = Synth()
    ptrs, want = [], b""
    for i, blk in enumerate(blocks):
        if blk is None:
            ptrs.append(0)
            want += bytes(MIB)
        else:
            payload = blk * (MIB // len(blk)) + blk[: MIB % len(blk)]
            ptrs.append(s.data(10 + i, payload))
            want += payload
    size = len(want) - 3
    s.add_file("f", size, 1, ptrs)
    fd = _open(s, tmp_path).lookup("/f")
    assert fd.read() == want[:size]
    exts = list(fd.extents())
    assert sum(e.length for e in exts) == size
    assert all(a.offset + a.length == b.offset for a, b in itertools.pairwise(exts))


@given(st.integers(0, (1 << 31) - 1), st.integers(0, (1 << 13) - 1), st.booleans())
def test_vmfs6_sfb_address_fields(cluster: int, resource: int, tbz: bool) -> None:
    """§1.3: VMFS6 SFB = type 1, TBZ bits 7-14, cluster bits 15-45, resource bits 51-63."""
    addr = 1 | (int(tbz) << 7) | (cluster << 15) | (resource << 51)
    d = decode(addr, vmfs6=True)
    assert (d.type, d.cluster, d.resource, d.tbz) == (AddrType.FB, cluster, resource, tbz)


def test_vmfs6_lfb_and_real_root_pointer() -> None:
    assert decode(7 | (5 << 15), vmfs6=True).block == 5
    # the real VMFS6 root directory's pointer: SFB cluster 0 resource 8 (= volume 8 MiB)
    assert decode(0x0040000000000001, vmfs6=True)[:3] == (AddrType.FB, 0, 8)


def _error(tmp_path: Path, s: Synth, path: str, corrupt: tuple[int, bytes] | None = None) -> str:
    img = s.write(tmp_path / "bad.img")
    if corrupt:
        with open(img, "r+b") as fh:
            fh.seek(corrupt[0])
            fh.write(corrupt[1])
    with pytest.raises(VmfsError) as info:
        fs = Vmfs.open([str(img)])
        fs.lookup(path).read()
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(img))
    return msg


def test_bad_magic(tmp_path: Path) -> None:
    msg = _error(tmp_path, Synth(), "/", (FS3, b"\xde\xad\xbe\xef"))
    assert "neither an LVM device" in msg


def test_truncated_image(tmp_path: Path) -> None:
    s = Synth()
    s.add_file("f", 10, 1, [s.data(10, b"x" * 10)])
    img = s.write(tmp_path / "t.img")
    with open(img, "r+b") as fh:
        fh.truncate(5 * MIB + 100)  # cuts through the root directory
    with pytest.raises(VmfsError, match="truncated"):
        Vmfs.open([str(img)]).lookup("/f")


def test_pointer_block_loop(tmp_path: Path) -> None:
    s = Synth()
    loop = s.pointer_block({})
    s.pointer_block_at(loop, {0: loop, 1: loop})  # a PB that lists itself
    s.add_file("loop", 5 * 1024 * MIB, 4304, [loop])
    assert "pointer-block loop" in _error(tmp_path, s, "/loop")


def test_out_of_range_block(tmp_path: Path) -> None:
    s = Synth()
    s.add_file("far", 10, 1, [1 | (5000 << 6)])  # block 5000 of a 64-block volume
    assert "outside the volume" in _error(tmp_path, s, "/far")


def test_entry_pointing_nowhere(tmp_path: Path) -> None:
    s = Synth()
    s.entries.append(("ghost", fd_addr(20), 3))  # FD slot 20 was never written
    msg = _error(tmp_path, s, "/ghost")
    assert "/ghost" in msg and "not in use" in msg


def test_wrong_address_type_in_pointer_array(tmp_path: Path) -> None:
    s = Synth()
    s.add_file("odd", 10, 1, [fd_addr(3)])
    assert "FD address where a data block was expected" in _error(tmp_path, s, "/odd")


def test_cli_reports_corruption_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = Synth()
    s.add_file("far", 10, 1, [1 | (5000 << 6)])
    img = s.write(tmp_path / "c.img")
    assert main(["vmfs", "cat", str(img), "/far"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "outside the volume" in err


def test_huge_sparse_file_extracts_sparse_with_flat_memory(tmp_path: Path) -> None:
    """A 200 GiB thin file with 3 MiB of data: the copy is sparse and memory stays flat."""
    s = Synth()
    inner = s.pointer_block({0: s.data(10, b"head" * (MIB // 4)), 1023: s.data(11, b"tail" * (MIB // 4))})
    inner2 = s.pointer_block({5: s.data(12, b"mid!" * (MIB // 4))})
    outer = s.pointer_block({0: inner, 150: inner2})
    size = 200 * 1024 * MIB
    s.add_file("thin-flat.vmdk", size, 4304, [outer])
    img = s.write(tmp_path / "thin.img")
    dest = tmp_path / "out.vmdk"
    tracemalloc.start()
    assert main(["vmfs", "extract", str(img), "/thin-flat.vmdk", str(dest)]) == 0
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    st_ = dest.stat()
    assert st_.st_size == size
    assert st_.st_blocks * 512 < 16 * MIB  # sparse: 3 MiB of data
    assert peak < 16 * MIB
    with open(dest, "rb") as fh:
        assert fh.read(4) == b"head"
        fh.seek(1023 * MIB)
        assert fh.read(4) == b"tail"
        fh.seek(150 * 1024 * MIB + 5 * MIB)
        assert fh.read(8) == b"mid!mid!"
        fh.seek(100 * 1024 * MIB)
        assert fh.read(16) == bytes(16)


def test_failed_extract_leaves_nothing(tmp_path: Path) -> None:
    s = Synth()
    s.add_file("bad", 2 * MIB, 1, [s.data(10, b"x" * MIB), 1 | (5000 << 6)])
    img = s.write(tmp_path / "b.img")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["vmfs", "extract", str(img), "/bad", str(out / "bad")]) == 1
    assert list(out.iterdir()) == []


def test_descriptor_label_roundtrip(tmp_path: Path) -> None:
    fs = _open(Synth(label="lab"), tmp_path)
    assert (fs.label, fs.major, fs.minor, fs.version_text) == ("lab", 14, 81, "VMFS-5.81")
    assert struct.unpack("<I", fs.read_volume(FS3, 4))[0] == 0x2FABF15E


# ------------------------------------------------------------------ hostile images (issue 11 items 9, 16)
FDC_FD_AT = 4 * MIB + 0x10000 + 0x400 + 2 * 0x800  # .fdc.sf's own FD (resource 2 of FDC cluster 0)


def sb_addr(resource: int, cluster: int = 0) -> int:
    """VMFS5 sub-block address (§1.3): type 2, cluster bits 6-27, resource bits 28-31."""
    return 2 | (cluster << 6) | (resource << 28)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_fdc_whose_blocks_need_the_fdc_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """.fdc.sf's data in a sub-block: locating .sbc.sf needs .fdc.sf itself (was AttributeError 'fdc')."""
    img = Synth().write(tmp_path / "fdc.img")
    with open(img, "r+b") as fh:
        fh.seek(FDC_FD_AT + 0x400)  # first block pointer of the FD
        fh.write(struct.pack("<I", sb_addr(0)))
    code, _out, err = _cli(["vmfs", "ls", str(img), "/"], capsys)
    assert code == 1 and err.count("\n") == 1
    assert ".fdc.sf is needed to locate its own blocks" in err


def test_sbc_whose_blocks_need_the_sbc_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A symlink in a sub-block whose .sbc.sf lives in a sub-block (was RecursionError via `sbc`)."""
    s = Synth()
    s.fd(4, 5, MIB, 1, [sb_addr(0)], mode=0o400)  # .sbc.sf, its data a sub-block of itself
    s.add_file("link", 5, 2, [sb_addr(1)], ftype=4, mode=0o777)
    img = s.write(tmp_path / "sbc.img")
    for argv in (["cat", str(img), "/link"], ["ls", "-l", str(img), "/"], ["tree", str(img)]):
        code, _out, err = _cli(["vmfs", *argv], capsys)
        assert code == 1 and err.count("\n") == 1, argv
        assert ".sbc.sf is needed to locate its own blocks" in err


def test_symlink_loops_and_chains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = Synth()
    s.add_file("self", 4, 4305, resident=b"self", ftype=4)
    s.add_file("a", 1, 4305, resident=b"b", ftype=4)
    s.add_file("b", 1, 4305, resident=b"a", ftype=4)
    s.add_file("data", 3, 4305, resident=b"hi\n")
    s.add_file("hop1", 4, 4305, resident=b"hop2", ftype=4)
    s.add_file("hop2", 5, 4305, resident=b"/data", ftype=4)
    img = s.write(tmp_path / "links.img")
    for name in ("self", "a"):
        code, _out, err = _cli(["vmfs", "cat", str(img), f"/{name}"], capsys)
        assert code == 1 and err.count("\n") == 1 and "too many levels of symbolic links" in err
        assert f":/{name}: " in err
    assert _cli(["vmfs", "cat", str(img), "/hop1"], capsys)[:2] == (0, "hi\n")


def test_symlink_with_a_huge_target_is_refused(tmp_path: Path) -> None:
    s = Synth()
    s.add_file("long", 1 << 30, 1, [0], ftype=4)  # 1 GiB "path" of holes
    fs = _open(s, tmp_path)
    with pytest.raises(VmfsError, match="longer than a path can be"):
        fs.readlink(fs.lookup("/long"))


def test_fd_beyond_the_largest_vmfs_file_is_refused(tmp_path: Path) -> None:
    s = Synth()
    s.add_file("eib", 8 << 60, 4304, [0])  # 8 EiB of holes
    with pytest.raises(VmfsError, match="more than the largest VMFS file"):
        _open(s, tmp_path).lookup("/eib")


def test_cat_of_a_file_larger_than_the_volume_is_refused(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A 1 TiB thin file on a 64 MiB volume: `cat` says so instead of streaming 1 TiB of zeros."""
    s = Synth()
    s.add_file("thin", 1 << 40, 4304, [0])
    img = s.write(tmp_path / "thin.img")
    assert main(["vmfs", "cat", str(img), "/thin"]) == 1
    out, err = capfdbinary.readouterr()
    assert out == b"" and b"more than the volume's capacity" in err and err.count(b"\n") == 1


def test_directory_larger_than_the_entry_maximum_is_refused(tmp_path: Path) -> None:
    s = Synth()
    s.add_file("huge", 1 << 40, 4304, [0], ftype=2)
    fs = _open(s, tmp_path)
    with pytest.raises(VmfsError, match="more than 130690 entries need"):
        fs.listdir(fs.lookup("/huge"))


def test_extract_needs_force_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = Synth()
    s.add_file("f", 5, 4305, resident=b"fresh")
    img = s.write(tmp_path / "x.img")
    dest = tmp_path / "f"
    dest.write_bytes(b"keep me")
    code, _out, err = _cli(["vmfs", "extract", str(img), "/f", str(dest)], capsys)
    assert code == 1 and f"{dest}: exists; give --force" in err and dest.read_bytes() == b"keep me"
    code, _out, err = _cli(["vmfs", "extract", str(img), "/f", str(tmp_path)], capsys)  # DEST a directory
    assert code == 1 and dest.read_bytes() == b"keep me"
    assert _cli(["vmfs", "extract", "--force", str(img), "/f", str(dest)], capsys)[0] == 0
    assert dest.read_bytes() == b"fresh"


def test_gzip_image_is_inflated_once_per_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gzip

    from vmksim.vmfs import source

    s = Synth(size=8 * MIB)
    for n in range(3):
        s.add_file(f"f{n}", 2, 4305, resident=b"%d\n" % n)
    raw = s.write(tmp_path / "v.img").read_bytes()
    gz = tmp_path / "v.img.gz"
    gz.write_bytes(gzip.compress(raw, compresslevel=1))
    calls: list[tuple[str, int, int]] = []
    real = source._inflate

    def counting(path: str, progress: source.Progress | None = None) -> tuple[object, int]:
        calls.append((path, 0, 0))
        return real(path, lambda name, done, total: calls.append((name, done, total)))

    monkeypatch.setattr(source, "_inflate", counting)
    code, out, _err = _cli(["vmfs", "tree", str(gz)], capsys)
    assert code == 0 and "f2  2" in out
    assert [c for c in calls if c[1:] == (0, 0)] == [(str(gz), 0, 0)]  # one inflation, many reads
    progress = [c for c in calls if c[1:] != (0, 0)]
    assert progress and progress[-1][1] == progress[-1][2] == gz.stat().st_size  # ends at 100 %


def _dirents(*entries: tuple[str, int, int]) -> bytes:
    """VMFS5 directory data (§1.6): 0x8C-byte entries of type, FD address, generation, name."""
    return b"".join(struct.pack("<III", t, a, 1) + n.encode().ljust(128, b"\0") for n, a, t in entries)


def test_names_with_control_characters_are_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name cannot clear the screen or forge a line of `ls -l` / `tree` (issue 11 item 18)."""
    s = Synth(label="lab\x1b]0;pwned\x07")
    s.add_file("evil\x1b[2J\nforged-line", 2, 4305, resident=b"x\n")
    s.add_file("link", 6, 4305, resident="a\nb\x9bc".encode(), ftype=4)  # U+009B, the C1 CSI
    img = s.write(tmp_path / "names.img")
    for argv in (["ls", "-l", str(img)], ["ls", str(img)], ["tree", str(img)], ["info", str(img)]):
        code, out, _err = _cli(["vmfs", *argv], capsys)
        assert code == 0 and "\x1b" not in out and "\x9b" not in out and "\x07" not in out, argv
        assert "forged-line" not in out or "evil\\e[2J\\nforged-line" in out, argv
    _code, out, _err = _cli(["vmfs", "ls", "-l", str(img)], capsys)
    assert len(out.splitlines()) == 2 and out.splitlines()[1].endswith("link -> a\\nb\\x9bc")
    _code, out, _err = _cli(["vmfs", "ls", "--json", str(img)], capsys)
    assert "evil\\u001b[2J\\nforged-line" in out  # JSON keeps the name exact, escaped its own way


def test_tree_refuses_a_directory_cycle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = Synth()
    here = fd_addr(s.next_fd)
    s.add_file(
        "d",
        3 * 0x8C,
        4305,
        resident=_dirents((".", here, 2), ("..", fd_addr(0), 2), ("again", here, 2)),
        ftype=2,
    )
    img = s.write(tmp_path / "cycle.img")
    code, out, err = _cli(["vmfs", "tree", str(img)], capsys)
    assert code == 1 and "/d/again: directory cycle" in err and err.count("\n") == 1
    assert out.splitlines()[:3] == ["/", "└── d/", "    └── again/"]


def test_vmfs_modules_import_only_downward() -> None:
    """Issue 12 item 6: no type-level cycle volume <-> inode <-> directory; files read through blocks.py.

    Every import counts, those under ``if TYPE_CHECKING:`` too (they are the type-level edges).
    """
    import ast

    import vmksim.vmfs

    order = ["source", "lvm", "address", "blocks", "inode", "directory", "volume"]
    folder = Path(vmksim.vmfs.__file__).parent
    for rank, name in enumerate(order):
        tree = ast.parse((folder / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vmksim.vmfs."):
                target = node.module.rsplit(".", 1)[1]
                assert order.index(target) < rank, f"vmfs/{name}.py imports vmfs/{target}.py (upward)"
    assert sorted(order) == sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")
