"""`vmksim shell --datastore IMG`: real ESXi-made VMFS images mounted read-only in the shell.

Expected values come from the data's README (../shared/data/README.md): labels, UUIDs, sizes
(256 MiB VMFS5, 768 MiB VMFS6) and the files inside (/directory/file1..file5, symlink -> file4).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

pytest.importorskip("bashlex")

from test_shell import sh_run, tiny_scenario
from vmksim.errors import InputError
from vmksim.shell.esxcli import esxcli
from vmksim.shell.host import ShellHost
from vmksim.shell.interp import Shell
from vmksim.vmfs import Vmfs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "vmfs"
VMFS5, VMFS6 = DATA / "vmfs5.bin.gz", DATA / "vmfs6.bin.gz"
UUID5, UUID6 = "61137dd5-df6bc2c8-f0e7-000c29801686", "6113001e-a6377ebc-1d24-000c29801686"

pytestmark = pytest.mark.skipif(not VMFS6.exists(), reason=f"VMFS test images not found in {DATA}")


@pytest.fixture(scope="module")
def volumes() -> tuple[Vmfs, Vmfs]:
    return Vmfs.open([str(VMFS6)]), Vmfs.open([str(VMFS5)])


@pytest.fixture
def host(volumes: tuple[Vmfs, Vmfs]) -> ShellHost:
    return ShellHost(tiny_scenario(), paused=True, jit=False, datastores=volumes)


def test_filesystem_list_shows_the_attached_volumes(host: ShellHost) -> None:
    status, text = esxcli(host, ["--formatter=csv", "storage", "filesystem", "list"])
    rows = list(csv.DictReader(io.StringIO(text)))
    got = [(r["VolumeName"], r["UUID"], r["MountPoint"], r["Type"], int(r["Size"])) for r in rows]
    assert status == 0 and got == [
        ("VMFS6 Test", UUID6, f"/vmfs/volumes/{UUID6}", "VMFS-6", 768 << 20),
        ("VMFS5 Test", UUID5, f"/vmfs/volumes/{UUID5}", "VMFS-5", 256 << 20),
    ]
    assert all(0 <= int(r["Free"]) <= int(r["Size"]) for r in rows)


def test_extent_list_splits_device_and_partition(host: ShellHost) -> None:
    status, text = esxcli(host, ["--formatter=csv", "storage", "vmfs", "extent", "list"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert status == 0 and [(r["VolumeName"], r["ExtentNumber"]) for r in rows] == [
        ("VMFS6 Test", "0"),
        ("VMFS5 Test", "0"),
    ]
    for r in rows:
        assert r["DeviceName"] and ":" not in r["DeviceName"][-2:] and r["Partition"].isdigit()


def test_files_of_the_images_read_through_label_and_uuid(host: ShellHost) -> None:
    shell = Shell(host)
    assert sh_run(shell, "ls /vmfs/volumes")[1].split("\n")[:-1] == sorted(
        [UUID5, UUID6, "VMFS5 Test", "VMFS6 Test", "datastore1"]
    )
    for root in (f"/vmfs/volumes/{UUID6}", "'/vmfs/volumes/VMFS5 Test'"):
        assert sh_run(shell, f"ls {root}/directory")[1].split() == [
            "file1",
            "file2",
            "file3",
            "file4",
            "file5",
            "symlink",
        ]
        assert (
            sh_run(shell, f"cat {root}/directory/file4 {root}/directory/symlink")[1] == "content\ncontent\n"
        )
        assert sh_run(shell, f"wc -c {root}/directory/file5")[1] == "8193\n"


def test_images_are_read_only(host: ShellHost) -> None:
    status, _, err = sh_run(Shell(host), f"echo x > /vmfs/volumes/{UUID6}/directory/new")
    assert status == 1 and err.endswith(": Read-only file system\n")
    status, _, err = sh_run(Shell(host), f"cat /vmfs/volumes/{UUID6}/nothing")
    assert status == 1 and err == f"cat: /vmfs/volumes/{UUID6}/nothing: No such file or directory\n"


def test_a_volume_cannot_be_mounted_twice(volumes: tuple[Vmfs, Vmfs]) -> None:
    with pytest.raises(InputError, match="already mounted"):
        ShellHost(tiny_scenario(), paused=True, jit=False, datastores=(volumes[0], volumes[0]))


def test_cli_datastore_option(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMKSIM_ENGINE", "python")
    scenario = tmp_path / "s.toml"
    scenario.write_text('[host]\npreset = "tiny-1x4"\n[[vm]]\nname = "a"\nvcpus = 1\n')
    code, out, err = run_cli(
        "shell", str(scenario), "--datastore", str(VMFS6), "-c", "ls '/vmfs/volumes/VMFS6 Test'"
    )
    assert code == 0 and err == "" and "directory" in out.split()  # beside the volume's system files
    bad = tmp_path / "bad.img"
    bad.write_bytes(b"\0" * 4096)
    code, out, err = run_cli("shell", str(scenario), "--datastore", str(bad), "-c", "true")
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and "bad.img" in err
