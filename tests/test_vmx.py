"""The .vmx reader/writer and the VmConfig model built from it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES
from vmksim.errors import VmxError
from vmksim.vmx import LatencySensitivity, encode_value, load_vm, parse_vmx, read_vmx, vm_from_vmx

VMX = FIXTURES / "vmx"


def test_realistic_vmx_parses_into_the_model() -> None:
    vm, vmx = load_vm(VMX / "sql01.vmx")
    assert (vm.name, vm.vcpus, vm.cores_per_socket, vm.memory_mb) == ('sql01 "prod"', 24, 12, 196608)
    assert (vm.cpu_shares, vm.cpu_min_mhz, vm.cpu_max_mhz, vm.mem_min_mb) == (24 * 2000, 4000, None, 65536)
    assert vm.latency_sensitivity is LatencySensitivity.NORMAL
    assert (vm.prefer_ht, vm.cpu_hotadd, vm.hw_version, vm.virtual_sockets) == (False, False, 19, 2)
    assert vmx["annotation"] == "Owner: DBA\nTier 1"
    assert vmx["SCSI0:0.FILENAME"] == "sql01.vmdk"  # keys are case-insensitive


def test_round_trip_keeps_every_entry_order_and_spelling(tmp_path) -> None:
    original = read_vmx(VMX / "sql01.vmx")
    out = tmp_path / "copy.vmx"
    original.write(out)
    again = read_vmx(out)
    assert again.items() == original.items()
    assert "uuid.bios" in again and again["guestOS"] == "windows2019srv-64"
    assert 'displayName = "sql01 |22prod|22"' in out.read_text()


def test_duplicate_key_last_wins_with_a_warning() -> None:
    vm, vmx = load_vm(VMX / "vnf-dup.vmx")
    assert vm.vcpus == 16 and vm.prefer_ht is True
    assert vmx.warnings == [
        f"{VMX / 'vnf-dup.vmx'}:3: duplicate key 'NumVCPUs' (first on line 2); the last value wins"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TRUE", True),
        ("true", True),
        ("True", True),
        ("1", True),
        ("yes", True),
        ("FALSE", False),
        ("0", False),
    ],
)
def test_booleans_are_accepted_as_esxi_does(text: str, expected: bool) -> None:
    vm = vm_from_vmx(parse_vmx(f'numvcpus = "4"\nnuma.vcpu.preferHT = "{text}"\n'))
    assert vm.prefer_ht is expected


def test_escapes_comments_and_unquoted_values() -> None:
    vmx = parse_vmx('# comment\na = "x\\"y"\nb = plain\nc = "p|7Cq"   # trailing comment\n')
    assert (vmx["a"], vmx["b"], vmx["c"]) == ('x"y', "plain", "p|q")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_encode_then_parse_returns_the_value(value: str) -> None:
    assert parse_vmx(f"k = {encode_value(value)}\n")["k"] == value


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad-line.vmx", r"bad-line\.vmx:3: malformed line 'this line is not a setting'"),
        ("bad-numvcpus.vmx", r"bad-numvcpus\.vmx:2: numvcpus must be a whole number, got 'eight'"),
        ("bad-cps.vmx", r"bad-cps\.vmx:3: cpuid\.coresPerSocket = 5 does not divide numvcpus = 12"),
    ],
)
def test_bad_vmx_names_file_and_line(name: str, message: str) -> None:
    with pytest.raises(VmxError, match=message):
        load_vm(VMX / name)


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("bad-line.vmx", "bad-line.vmx:3:"),
        ("bad-numvcpus.vmx", "bad-numvcpus.vmx:2:"),
        ("bad-cps.vmx", "bad-cps.vmx:3:"),
        (
            "too-many-vcpus.vmx",
            "too-many-vcpus.vmx:2: numvcpus = 256 is more than the host's 96 logical CPUs",
        ),
    ],
)
def test_plan_cli_gives_one_line_and_exit_1_for_bad_vmx(run_cli, name: str, where: str) -> None:
    code, out, err = run_cli("plan", "--host", "nfv-2x24-ht", str(VMX / name))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and where in err and "Traceback" not in err


def test_binary_file_is_not_a_vmx(tmp_path) -> None:
    p = tmp_path / "disk.vmx"
    p.write_bytes(b"KDMV\x00\x00\x01")
    with pytest.raises(VmxError, match="binary data"):
        read_vmx(p)


def test_long_runs_of_blanks_parse_in_linear_time() -> None:
    # A lazy value regex followed by \s*$ was quadratic here (fuzz suite): 400,000 blanks took minutes.
    vmx = parse_vmx('numvcpus = "2"' + " " * 400_000 + '\nguestOS = "x' + " " * 400_000 + '"\n')
    assert vmx.get("numvcpus") == "2" and vmx.get("guestOS") == "x" + " " * 400_000


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_key(tmp_path, run_cli) -> None:
    """QA: `g9.vmx:1: malformed line '\\ufeffnumvcpus = "4"'`; ESXi's .vmx is UTF-8 (.encoding)."""
    path = tmp_path / "g9.vmx"
    path.write_bytes('\ufeffnumvcpus = "4"\n.encoding = "UTF-8"\ndisplayName = "Größe"\n'.encode())
    vmx = read_vmx(path)
    assert vmx.line_of("numvcpus") == 1 and vm_from_vmx(vmx).vcpus == 4
    code, out, err = run_cli("plan", str(path), "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["vcpus"] == 4 and plan["name"] == "Größe"


def test_a_byte_order_mark_elsewhere_is_still_malformed() -> None:
    with pytest.raises(VmxError, match=r"<vmx>:2: malformed line"):
        parse_vmx('numvcpus = "4"\n\ufeffmemSize = "4"\n')
