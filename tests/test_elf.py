"""Tests for `vmksim elf check`: real binaries compiled here, crafted and broken files.

The C programs are compiled at test time with the machine's gcc (Debian 12,
glibc 2.36) into a temporary directory; nothing binary is committed.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import vmksim.cli
from elf_samples import dynamic_needing, dynamic_without_string_table, elf32_bytes
from vmksim.cli import elf as elf_cli
from vmksim.elf import check_binary, check_path, load_policy, read_binary
from vmksim.elf.binary import ElfFacts, ElfKind
from vmksim.elf.check import Verdict, max_symbol_versions, split_version
from vmksim.errors import ElfError, InputError

GCC = shutil.which("gcc")
BUSYBOX = Path("/bin/busybox")
REFERENCE = Path("/work/shared/reference/vmfs-shell-elf-api.md")

needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc not found: the tests that compile C programs need it")

# No crt files: the program then needs only the symbol versions its own calls pull in
# (a normal main() also needs __libc_start_main@GLIBC_2.34 from glibc >= 2.34's crt1.o).
OLD_DYNAMIC_C = """
#include <unistd.h>
void _start(void) { write(1, "hi\\n", 3); _exit(0); }
"""
# reallocarray appeared in glibc 2.26: too new for the 6.7/7.0 proxy (2.17), fine for 8.0 (2.28).
GLIBC_2_26_C = """
#include <stdlib.h>
#include <unistd.h>
void _start(void) { void *p = reallocarray(0, 4, 4); _exit(p == 0); }
"""
# Pins a symbol version explicitly: memcpy@GLIBC_2.14 is within every policy limit.
SYMVER_C = """
#include <string.h>
#include <unistd.h>
__asm__(".symver memcpy, memcpy@GLIBC_2.14");
void _start(void) { char a[4], b[4] = "abc"; memcpy(a, b, 4); _exit(a[0] != 'a'); }
"""
MAIN_C = """
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
"""
LIB_C = "int foo(void) { return 42; }\n"
USES_LIB_C = """
#include <unistd.h>
int foo(void);
void _start(void) { _exit(foo()); }
"""


def _gcc(tmp: Path, name: str, source: str, *flags: str) -> Path:
    src = tmp / f"{name}.c"
    src.write_text(source)
    out = tmp / name
    subprocess.run([GCC or "gcc", "-O1", "-o", str(out), str(src), *flags], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The compiled test programs, by name."""
    if GCC is None:
        pytest.skip("gcc not found: the tests that compile C programs need it")
    tmp = tmp_path_factory.mktemp("elf")
    lib = _gcc(tmp, "libfoo.so", LIB_C, "-shared", "-fPIC", "-Wl,-soname,libfoo.so")
    return {
        "static": _gcc(tmp, "static", MAIN_C, "-static"),
        "main": _gcc(tmp, "main", MAIN_C),
        "old": _gcc(tmp, "old", OLD_DYNAMIC_C, "-nostartfiles"),
        "glibc226": _gcc(tmp, "glibc226", GLIBC_2_26_C, "-nostartfiles"),
        "symver": _gcc(tmp, "symver", SYMVER_C, "-nostartfiles", "-fno-builtin"),
        "musl": _gcc(
            tmp, "musl", OLD_DYNAMIC_C, "-nostartfiles", "-Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1"
        ),
        "libfoo": lib,
        "uses_lib": _gcc(tmp, "uses_lib", USES_LIB_C, "-nostartfiles", f"-L{tmp}", "-lfoo"),
        "object": _object(tmp),
    }


def _object(tmp: Path) -> Path:
    src = tmp / "obj.c"
    src.write_text(LIB_C)
    out = tmp / "obj.o"
    subprocess.run([GCC or "gcc", "-c", "-o", str(out), str(src)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_policy()


def verdict(path: Path | str, esxi: str = "8.0", *, vib: bool = False) -> tuple[Verdict | None, str]:
    pol = load_policy()
    c = check_path(str(path), pol, pol.release(esxi), from_vib=vib)
    return c.verdict, c.summary()


def _only_elf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register only `vmksim elf`: the tests stay independent of the other sub-commands."""
    monkeypatch.setattr(vmksim.cli, "command_modules", lambda: ["elf"], raising=False)
    monkeypatch.setattr(vmksim.cli, "COMMANDS", ("elf",), raising=False)


CliRunner = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """``cli("elf", "check", ...)`` runs `vmksim` through its real entry point → (exit code, stdout, stderr)."""
    _only_elf(monkeypatch)

    def run(*argv: str) -> tuple[int, str, str]:
        code = vmksim.cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


# --------------------------------------------------------------------------- compiled programs


@needs_gcc
def test_static_runs_everywhere_with_exec_installed_only_on_8(built: dict[str, Path]) -> None:
    facts = read_binary(str(built["static"]))
    assert isinstance(facts, ElfFacts)
    assert (facts.kind, facts.static, facts.needed, facts.interpreter) == (ElfKind.STATIC, True, (), None)
    assert verdict(built["static"], "6.7") == (Verdict.RUNS, "runs")
    assert verdict(built["static"], "7.0") == (Verdict.RUNS, "runs")
    assert verdict(built["static"], "8.0") == (
        Verdict.RUNS_IF,
        "runs if installed from a VIB (or execInstalledOnly is turned off)",
    )
    assert verdict(built["static"], "8.0", vib=True) == (Verdict.RUNS, "runs")


@needs_gcc
def test_dynamic_with_old_symbol_versions(built: dict[str, Path], policy) -> None:  # type: ignore[no-untyped-def]
    facts = read_binary(str(built["old"]))
    assert isinstance(facts, ElfFacts)
    assert facts.kind is ElfKind.DYNAMIC and not facts.static
    assert facts.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert facts.needed == ("libc.so.6",)
    assert max_symbol_versions(facts) == {"GLIBC": "2.2.5"}
    assert verdict(built["old"], "7.0") == (Verdict.RUNS, "runs")
    assert verdict(built["old"], "8.0")[0] is Verdict.RUNS_IF
    assert verdict(built["old"], "8.0", vib=True)[0] is Verdict.RUNS
    reasons = check_binary(facts, policy, policy.release("7.0")).as_dict()["reasons"]
    assert any("GLIBC 2.2.5 (limit 2.17)" in r and "proxies" in r for r in reasons)


@needs_gcc
def test_symver_pins_an_old_version(built: dict[str, Path]) -> None:
    facts = read_binary(str(built["symver"]))
    assert isinstance(facts, ElfFacts)
    assert max_symbol_versions(facts) == {"GLIBC": "2.14"}
    assert verdict(built["symver"], "6.7") == (Verdict.RUNS, "runs")


@needs_gcc
def test_glibc_too_new_for_7_but_not_8(built: dict[str, Path]) -> None:
    v, line = verdict(built["glibc226"], "7.0")
    assert v is Verdict.WILL_NOT_RUN
    assert line == "will not run: needs GLIBC_2.26, newer than ESXi 7.0's 2.17"
    assert verdict(built["glibc226"], "8.0", vib=True) == (Verdict.RUNS, "runs")


@needs_gcc
def test_normal_program_built_on_debian_12_needs_glibc_2_34(built: dict[str, Path], policy) -> None:  # type: ignore[no-untyped-def]
    for esxi in ("6.7", "7.0", "8.0"):
        v, line = verdict(built["main"], esxi)
        assert v is Verdict.WILL_NOT_RUN
        assert "needs GLIBC_2.34" in line
    c = check_path(str(built["main"]), policy, policy.release("8.0")).as_dict()
    blocker = next(r for r in c["reasons"] if r.startswith("needs GLIBC_2.34"))
    # names the symbol that pulls it in, and says the limit is a proxy, with its source
    assert "__libc_start_main@GLIBC_2.34" in blocker
    assert "not public" in blocker and "https://github.com/rgc2000/NutClient-ESXi/issues/7" in blocker


@needs_gcc
def test_unknown_library_and_foreign_interpreter(built: dict[str, Path]) -> None:
    assert verdict(built["uses_lib"], "7.0") == (Verdict.WILL_NOT_RUN, "will not run: needs libfoo.so")
    v, line = verdict(built["musl"], "7.0")
    assert v is Verdict.WILL_NOT_RUN
    assert line == "will not run: interpreter /lib/ld-musl-x86_64.so.1 is not on ESXi 7.0"


@needs_gcc
def test_shared_library_and_object_file(built: dict[str, Path]) -> None:
    facts = read_binary(str(built["libfoo"]))
    assert isinstance(facts, ElfFacts) and facts.kind is ElfKind.SHARED_LIBRARY
    assert verdict(built["libfoo"], "8.0")[0] is Verdict.RUNS  # no execInstalledOnly for a library
    assert verdict(built["object"], "7.0") == (
        Verdict.WILL_NOT_RUN,
        "will not run: object file, not a program",
    )


@needs_gcc
def test_libstdcxx_is_a_condition(tmp_path: Path) -> None:
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not found")
    src = tmp_path / "x.cc"
    src.write_text(
        "#include <string>\n#include <unistd.h>\nextern \"C\" void _start() { std::string s(40, 'x'); _exit(s.size() != 40); }\n"
    )
    out = tmp_path / "x"
    subprocess.run([gxx, "-O1", "-nostartfiles", "-o", str(out), str(src)], check=True, capture_output=True)
    facts = read_binary(str(out))
    assert isinstance(facts, ElfFacts) and "libstdc++.so.6" in facts.needed
    assert "GLIBCXX" in max_symbol_versions(facts)
    v, line = verdict(out, "8.0", vib=True)
    assert v in (Verdict.RUNS_IF, Verdict.WILL_NOT_RUN)
    assert "libstdc++.so.6" in line or "GLIBCXX" in line


# --------------------------------------------------------------------------- real and crafted files


def test_busybox_static_runs() -> None:
    if not BUSYBOX.exists():
        pytest.skip(
            "/bin/busybox missing: install Debian's busybox-static (make test runs scripts/system-deps.sh)"
        )
    facts = read_binary(str(BUSYBOX))
    assert isinstance(facts, ElfFacts) and facts.static and (facts.bits, facts.machine) == (64, "EM_X86_64")
    assert verdict(BUSYBOX, "7.0") == (Verdict.RUNS, "runs")
    pol = load_policy()
    c = check_path(str(BUSYBOX), pol, pol.release("8.0"))
    assert c.verdict is Verdict.RUNS_IF
    assert any(r.startswith("execInstalledOnly (ESXi 8.0): on by default") for r in c.as_dict()["reasons"])
    assert verdict(BUSYBOX, "8.0", vib=True) == (Verdict.RUNS, "runs")


def test_32bit_elf(tmp_path: Path) -> None:
    path = tmp_path / "elf32"
    path.write_bytes(elf32_bytes())
    facts = read_binary(str(path))
    assert isinstance(facts, ElfFacts)
    assert (facts.bits, facts.machine, facts.kind) == (32, "EM_386", ElfKind.STATIC)
    assert verdict(path, "8.0") == (Verdict.WILL_NOT_RUN, "will not run: 32-bit ELF")
    assert verdict(path, "7.0") == (Verdict.RUNS, "runs")


@pytest.mark.parametrize(
    ("first_line", "esxi", "expected"),
    [
        ("#!/bin/sh", "8.0", (Verdict.RUNS, "runs")),
        ("#!/bin/ash", "7.0", (Verdict.RUNS, "runs")),
        ("#!/bin/bash", "8.0", (Verdict.WILL_NOT_RUN, "will not run: needs /bin/bash")),
        ("#!/usr/bin/env python3", "8.0", (Verdict.RUNS_IF, "runs if /usr/bin/env exists on the host")),
        ("echo no shebang", "8.0", (Verdict.WILL_NOT_RUN, "will not run: text file without a #! line")),
        (
            "echo no shebang",
            "7.0",
            (Verdict.RUNS_IF, "runs if started from the ESXi shell (it has no #! line)"),
        ),
    ],
)
def test_scripts(tmp_path: Path, first_line: str, esxi: str, expected: tuple[Verdict, str]) -> None:
    path = tmp_path / "script"
    path.write_text(f"{first_line}\necho hello\n")
    assert verdict(path, esxi) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (bytes(random.Random(7).randrange(256) for _ in range(4096)), "not an ELF binary nor a #! script"),
        (b"\x7fELF\x02\x01", "corrupt or truncated ELF"),
        (
            elf32_bytes()[:60],
            "truncated ELF: the program header table ends at byte 84, the file has 60 bytes",
        ),
    ],
    ids=["empty", "random", "tiny-elf", "truncated-elf32"],
)
def test_unreadable_files_are_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(ElfError, match=re.escape(message)) as info:
        read_binary(str(path))
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_devices_and_directories_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ElfError, match="not a regular file"):
        read_binary("/dev/null")
    with pytest.raises(ElfError, match="is a directory"):
        read_binary(str(tmp_path))


@needs_gcc
def test_truncated_and_corrupted_binaries_never_escape(built: dict[str, Path], tmp_path: Path) -> None:
    """Every prefix (in steps) and many random byte flips of a real binary: a verdict or an ElfError."""
    data = built["main"].read_bytes()
    rng = random.Random(2024)
    variants = [data[:n] for n in range(0, len(data), 211)]
    for _ in range(150):
        corrupt = bytearray(data)
        for _ in range(rng.randrange(1, 20)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        variants.append(bytes(corrupt))
    path = tmp_path / "variant"
    pol = load_policy()
    outcomes = set()
    for blob in variants:
        path.write_bytes(blob)
        c = check_path(str(path), pol, pol.release("8.0"))
        outcomes.add("error" if c.error else c.verdict)
        if c.error:
            assert "\n" not in c.error
    assert "error" in outcomes


# --------------------------------------------------------------------------- the command line


@needs_gcc
def test_cli_single_file_prints_verdict_and_reasons(built: dict[str, Path], cli: CliRunner) -> None:
    code, out, err = cli("elf", "check", "--esxi", "7.0", str(built["glibc226"]))
    assert code == elf_cli.EXIT_WILL_NOT_RUN
    lines = out.splitlines()
    assert lines[0] == f"{built['glibc226']}: will not run: needs GLIBC_2.26, newer than ESXi 7.0's 2.17"
    assert any(
        line.startswith("  - blocker: needs GLIBC_2.26") and "reallocarray@GLIBC_2.26" in line
        for line in lines
    )
    assert "proxies" in err


@needs_gcc
def test_cli_many_files_one_line_each_and_worst_exit_code(
    built: dict[str, Path], tmp_path: Path, cli: CliRunner
) -> None:
    args = ("elf", "check", "--esxi", "7.0")
    code, out, _ = cli(*args, str(built["static"]), str(built["old"]))
    assert (code, len(out.splitlines())) == (elf_cli.EXIT_RUNS, 2)
    code, out, _ = cli("elf", "check", str(built["static"]), str(built["old"]))
    assert (code, len(out.splitlines())) == (elf_cli.EXIT_RUNS_IF, 2)
    code, out, _ = cli(*args, str(built["static"]), str(built["main"]))
    assert code == elf_cli.EXIT_WILL_NOT_RUN
    assert out.splitlines()[1].startswith(f"{built['main']}: will not run: needs GLIBC_2.34")
    missing = tmp_path / "missing"
    code, out, err = cli(*args, str(built["main"]), str(missing))
    assert code == elf_cli.EXIT_ERROR
    assert len(out.splitlines()) == 1
    assert f"vmksim: error: {missing}: cannot open: No such file or directory" in err.splitlines()


@needs_gcc
def test_cli_directory(built: dict[str, Path], tmp_path: Path, cli: CliRunner) -> None:
    d = tmp_path / "tools"
    (d / "sub").mkdir(parents=True)
    shutil.copy(built["static"], d / "a-static")
    shutil.copy(built["glibc226"], d / "sub" / "b-new")
    (d / "c.sh").write_text("#!/bin/sh\necho hi\n")
    (d / "README").write_text("not checked: neither ELF nor #!\n")
    (d / "link").symlink_to(d / "a-static")
    code, out, _ = cli("elf", "check", "--esxi", "7.0", str(d))
    assert out.splitlines() == [
        f"{d}/a-static: runs",
        f"{d}/c.sh: runs",
        f"{d}/sub/b-new: will not run: needs GLIBC_2.26, newer than ESXi 7.0's 2.17",
    ]
    assert code == elf_cli.EXIT_WILL_NOT_RUN
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = cli("elf", "check", str(empty))
    assert (code, out) == (elf_cli.EXIT_ERROR, "")
    assert f"vmksim: error: {empty}: no ELF binaries or #! scripts in this directory" in err


@needs_gcc
def test_cli_json(built: dict[str, Path], tmp_path: Path, cli: CliRunner) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x00\x01\x02garbage")
    code, out, err = cli("elf", "check", "--json", str(built["old"]), str(bad))
    data = json.loads(out)
    assert code == elf_cli.EXIT_ERROR
    first = data[0]
    assert {k: first[k] for k in ("path", "verdict", "static", "needed", "max_symbol_versions")} == {
        "path": str(built["old"]),
        "verdict": "runs_if",
        "static": False,
        "needed": ["libc.so.6"],
        "max_symbol_versions": {"GLIBC": "2.2.5"},
    }
    assert first["conditions"] == ["installed from a VIB (or execInstalledOnly is turned off)"]
    assert all(isinstance(r, str) for r in first["reasons"]) and len(first["reasons"]) == 5
    assert data[1]["verdict"] == "error" and "not an ELF binary" in data[1]["error"]
    assert "not an ELF binary" in err


def test_cli_single_bad_file_is_one_line_exit_1(tmp_path: Path, cli: CliRunner) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(range(256)))
    code, out, err = cli("elf", "check", str(path))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"vmksim: error: {path}: not an ELF binary nor a #! script (starts with bytes 00 01 02 03)"
    ]


def test_cli_help_teaches(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _only_elf(monkeypatch)
    with pytest.raises(SystemExit) as info:
        vmksim.cli.main(["elf", "check", "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert "examples:" in out and "vmksim elf check --esxi 7.0 ./rsync" in out
    for code in (
        "0  every file runs",
        "3  at least one runs only if",
        "4  at least one will not run",
        "1  at least",
    ):
        assert code in out
    # An unknown release is a bad value (exit 1), as `plan --esxi 9.0` (DESIGN.md "Errors").
    assert vmksim.cli.main(["elf", "check", "--esxi", "9.0", "x"]) == 1


def test_cli_policy(cli: CliRunner) -> None:
    code, out, _ = cli("elf", "policy", "--esxi", "8.0")
    assert code == 0
    assert "ESXi 8.0" in out and "max GLIBC" in out and "2.28" in out and "[proxy]" in out
    assert "ESXi 7.0" not in out


# --------------------------------------------------------------------------- the policy data


def test_policy_values_all_have_sources(policy) -> None:  # type: ignore[no-untyped-def]
    assert sorted(policy.releases) == list(elf_cli.RELEASES)
    urls = {s.url for s in _all_sources(policy)}
    assert urls and all(u.startswith("http") for u in urls)
    if REFERENCE.exists():  # every URL comes from the research notes
        text = REFERENCE.read_text()
        assert [u for u in urls if u not in text] == []
    r8, r7 = policy.release("8.0"), policy.release("7.0")
    assert (r8.bits.value, r7.bits.value) == ({64}, {32, 64})
    assert (r8.exec_installed_only.value, r7.exec_installed_only.value) == (True, False)
    assert (r8.max_versions["GLIBC"].value, r7.max_versions["GLIBC"].value) == ((2, 28), (2, 17))
    assert not r8.max_versions["GLIBC"].exact and "not public" in r8.max_versions["GLIBC"].note


def _all_sources(policy):  # type: ignore[no-untyped-def]
    for r in policy.releases.values():
        yield from (r.bits.source, r.machines.source, r.exec_installed_only.source, r.interpreters.source)
        yield from (v.source for v in r.max_versions.values())
    yield from (lib.source for lib in policy.libraries.values())
    yield from (s.source for s in policy.scripts.values())


def test_policy_file_errors_name_the_key(tmp_path: Path) -> None:
    good = (Path(vmksim.__file__).parent / "data" / "elf-policy.toml").read_text()
    bad = tmp_path / "p.toml"
    bad.write_text(
        good.replace(
            'GLIBC = { value = "2.28", source = "nut-esxi"', 'GLIBC = { value = "2.28", source = "nope"'
        )
    )
    with pytest.raises(
        InputError, match=re.escape("releases.8.0.max_versions.GLIBC: source 'nope' is not in [sources]")
    ):
        load_policy(bad)
    with pytest.raises(InputError, match=re.escape("unknown ESXi release '5.5'")):
        load_policy().release("5.5")


def test_split_version() -> None:
    assert split_version("GLIBC_2.2.5") == ("GLIBC", (2, 2, 5))
    assert split_version("GLIBCXX_3.4.21") == ("GLIBCXX", (3, 4, 21))
    assert split_version("GLIBC_ABI_DT_RELR") == ("GLIBC", (2, 36))
    assert split_version("GLIBC_PRIVATE") is None


# --------------------------------------------------------------------------- hostile files (issue 11 item 2)


def test_library_assertion_on_hostile_elf_is_one_line(tmp_path: Path, cli: CliRunner) -> None:
    path = tmp_path / "nostrtab"
    path.write_bytes(dynamic_without_string_table())
    with pytest.raises(ElfError, match=r"corrupt or truncated ELF \(\d+ bytes\)") as info:
        read_binary(str(path))
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)
    code, _out, err = cli("elf", "check", str(path))
    assert code == elf_cli.EXIT_ERROR and err.count("\n") == 1 and "Traceback" not in err


@needs_gcc
def test_verneed_count_beyond_its_section_is_corruption(built: dict[str, Path], tmp_path: Path) -> None:
    """sh_info = 2**32-1 entries with vn_next = 0 would walk one entry for ever; it is refused."""
    from elftools.elf.elffile import ELFFile

    data = bytearray(built["main"].read_bytes())
    with open(built["main"], "rb") as fh:
        elf = ELFFile(fh)
        index = next(i for i, s in enumerate(elf.iter_sections()) if s["sh_type"] == "SHT_GNU_verneed")
        section = elf.get_section(index)
        shdr_at = elf.header["e_shoff"] + index * elf.header["e_shentsize"]
        entry_at = section["sh_offset"]
    struct.pack_into("<I", data, shdr_at + 44, 0xFFFFFFFF)  # Elf64_Shdr.sh_info
    struct.pack_into("<I", data, entry_at + 12, 0)  # Elf64_Verneed.vn_next
    path = tmp_path / "loop"
    path.write_bytes(bytes(data))
    with pytest.raises(ElfError, match="claims more entries than its"):
        read_binary(str(path))


def test_names_from_the_file_print_escaped(tmp_path: Path, cli: CliRunner) -> None:
    """A DT_NEEDED name cannot clear the screen or forge an output line (issue 11 item 18)."""
    path = tmp_path / "evil"
    path.write_bytes(dynamic_needing(b"lib\x1b[2J\nrm -rf.so"))
    facts = read_binary(str(path))
    assert isinstance(facts, ElfFacts) and facts.needed == ("lib\x1b[2J\nrm -rf.so",)
    code, out, _err = cli("elf", "check", str(path))
    assert code == elf_cli.EXIT_WILL_NOT_RUN
    assert "\x1b" not in out and "lib\\e[2J\\nrm -rf.so" in out
    assert not any(line.startswith("rm -rf") for line in out.splitlines())
