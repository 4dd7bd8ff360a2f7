"""`vmksim analyze`: facts and findings on captures with known problems, robustness on damaged files.

Two kinds of captures, both through the real stats Sampler and batch CSV writer:
- made by the simulated kernel (vmksim.kernel, short runs on its interpreted
  core): a limit, an overcommitted host, a healthy host — the problems come
  from scheduling;
- scripted (vmksim.analyze.synth: a CounterSource that charges each VM the
  state times asked for) for what the kernel does not produce: a wide VM with
  poor N%L (the kernel keeps a wide VM's memory local to its clients, as ESXi
  5.x+ does; it shows remote memory only for a VM larger than its node or after
  a NUMA move), swapping and ballooning (no memory reclamation), many VMs.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from vmksim.analyze import Severity, Thresholds, analyze_file, load_capture
from vmksim.analyze.synth import CASES, VmScript, write_scripted_capture, write_simulated_capture
from vmksim.errors import InputError
from vmksim.topology.presets import PRESETS

HOST = PRESETS["xeon-2x10-ht"]  # 2 nodes x 10 cores, HT: 40 PCPUs


def make(tmp_path: Path, case: str, **kw: object) -> Path:
    path = tmp_path / f"{case}.csv"
    write_scripted_capture(path, HOST, CASES[case](HOST), samples=kw.pop("samples", 12), **kw)  # type: ignore[arg-type]
    return path


def metrics_by_vm(path: Path, **overrides: str) -> set[tuple[str | None, str]]:
    a = analyze_file(path, Thresholds().with_overrides(overrides))
    return {(f.vm, f.metric) for f in a.findings if f.severity is not Severity.INFO}


# --- facts ----------------------------------------------------------------------------------------


def test_facts_of_a_capture(tmp_path: Path) -> None:
    d = load_capture(make(tmp_path, "wide"))
    assert (d.host.pcpus, d.host.cores, d.host.ht, d.host.numa_nodes) == (40, 20, True, 2)
    assert d.host.node_memory_mb == (131072.0, 131072.0)
    assert [(v.name, v.vcpus) for v in d.vms] == [
        ("app-1", 2),
        ("app-2", 2),
        ("app-3", 2),
        ("app-4", 2),
        ("wide-db", 14),
    ]
    assert (d.samples, d.interval_s, d.duration_s, d.all_counters) == (12, 5.0, 60.0, True)


def test_vm_names_with_colons_spaces_and_parentheses(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    write_scripted_capture(path, HOST, [VmScript("app:blue (prod), eu", 3), VmScript("x", 1)], samples=3)
    d = load_capture(path)
    assert [(v.name, v.vcpus) for v in d.vms] == [("app:blue (prod), eu", 3), ("x", 1)]


def test_json_has_the_documented_keys(tmp_path: Path, run_cli) -> None:
    code, out, _ = run_cli("analyze", str(make(tmp_path, "limit")), "--json")
    assert code == 0
    data = json.loads(out)
    assert {"name", "pcpus", "cores", "numa_nodes"} <= set(data["host"])
    assert data["host"]["pcpus"] == 40 and data["host"]["numa_nodes"] == 2
    assert {k: data["vms"][-1][k] for k in ("name", "vcpus")} == {"name": "capped", "vcpus": 4}
    assert data["samples"] == 12 and data["interval_s"] == 5.0
    f = data["findings"][0]
    assert {"severity", "vm", "metric", "value", "threshold", "message"} <= set(f)
    assert (f["vm"], f["metric"], f["threshold"]) == ("capped", "%MLMTD", 0.0)
    assert f["value"] == pytest.approx(12, abs=1)
    assert f["evidence"]["samples_over"] == 12 and f["evidence"]["alloc_max_mhz"] == 2000


# --- findings on captures made by the simulated kernel -------------------------------------------

KERNEL_HOST = {
    "sockets": 2,
    "cores_per_socket": 4,
    "threads_per_core": 2,
    "numa_nodes": 2,
    "memory_gb": 64,
    "mhz": 2000,
}


def simulated(tmp_path: Path, name: str, vms: list[dict[str, object]], seed: int = 3) -> Path:
    path = tmp_path / f"{name}.csv"
    run = {"duration_s": 10, "interval_s": 2, "seed": seed}
    write_simulated_capture(path, {"name": name, "host": KERNEL_HOST, "run": run, "vm": vms}, jit=False)
    return path


def onoff(busy_ms: float, idle_ms: float) -> dict[str, object]:
    return {"kind": "onoff", "busy_ms": busy_ms, "idle_ms": idle_ms}


def test_kernel_healthy_host_has_no_findings(tmp_path: Path) -> None:
    path = simulated(tmp_path, "healthy", [{"name": "app", "count": 4, "vcpus": 2, "workload": onoff(2, 8)}])
    assert metrics_by_vm(path) == set()


def test_kernel_limit_gives_an_mlmtd_finding(tmp_path: Path) -> None:
    vms = [
        {"name": "app", "count": 3, "vcpus": 2, "workload": onoff(2, 8)},
        {"name": "capped", "vcpus": 2, "settings": {"sched.cpu.max": 1000}, "workload": onoff(9, 1)},
    ]
    a = analyze_file(simulated(tmp_path, "limit", vms))
    capped = {f.metric: f for f in a.findings if f.vm == "capped"}
    assert set(capped) == {"%MLMTD"}  # its ready time is the limit's, not contention
    f = capped["%MLMTD"]
    assert f.severity is Severity.CRITICAL and f.value > 50 and "1000 MHz" in f.message
    assert f.evidence["samples_over"] == 5


def test_kernel_overcommit_gives_ready_and_costop_findings(tmp_path: Path) -> None:
    vms = [{"name": "busy", "count": 6, "vcpus": 4, "workload": onoff(8, 2)}]  # 19.2 PCPUs wanted of 16
    a = analyze_file(simulated(tmp_path, "overcommit", vms))
    by_metric: dict[str, list[str | None]] = {}
    for f in a.findings:
        by_metric.setdefault(f.metric, []).append(f.vm)
    assert by_metric["PCPU UTIL"] == [None]
    assert sorted(by_metric["%RDY"]) == sorted(f"busy-{i}" for i in range(1, 7))
    assert "%CSTP" in by_metric
    assert all(s.ready > 10 for s in a.vms)


def test_kernel_vm_larger_than_its_node_gives_an_nl_finding(tmp_path: Path) -> None:
    # KERNEL_HOST nodes hold 32 GB; a 48 GB VM that touches all of it gets 16 GB from the other node.
    vms = [
        {
            "name": "bigmem",
            "vcpus": 2,
            "memory_gb": 48,
            "workload": {**onoff(2, 8), "active_memory_pct": 100},
        },
        {"name": "app", "vcpus": 2, "memory_gb": 4, "workload": onoff(2, 8)},
    ]
    a = analyze_file(simulated(tmp_path, "bigmem", vms))
    nl = [f for f in a.findings if f.metric == "N%L"]
    assert [f.vm for f in nl] == ["bigmem"]
    assert nl[0].value == pytest.approx(100 * 32 / 48, abs=1)


# --- findings on scripted captures (known problems put in by hand) ----------------------------------


def test_healthy_capture_has_no_findings(tmp_path: Path) -> None:
    assert metrics_by_vm(make(tmp_path, "healthy")) == set()


def test_a_limit_gives_an_mlmtd_finding_and_only_that(tmp_path: Path) -> None:
    a = analyze_file(make(tmp_path, "limit"))
    assert [(f.vm, f.metric, f.severity) for f in a.findings] == [("capped", "%MLMTD", Severity.CRITICAL)]
    f = a.findings[0]
    assert "2000 MHz" in f.message and "remove the CPU limit" in f.fix


def test_overcommit_gives_ready_findings_blamed_on_contention(tmp_path: Path) -> None:
    a = analyze_file(make(tmp_path, "overcommit"))
    rdy = [f for f in a.findings if f.metric == "%RDY"]
    assert len(rdy) == len(a.data.vms) == 20
    assert all(f.value == pytest.approx(22, abs=1.5) and "2.0 vCPUs per PCPU" in f.cause for f in rdy)
    assert "PCPU UTIL" in {f.metric for f in a.findings if f.vm is None}
    assert all(f.evidence["vcpus"] and f.evidence["vcpus"][0]["mean"] > 10 for f in rdy)
    assert a.findings[0].metric == "PCPU UTIL"  # host first at equal severity


def test_wide_vm_with_poor_locality_gives_an_nl_finding_with_right_sizing_fix(tmp_path: Path) -> None:
    a = analyze_file(make(tmp_path, "wide"))
    nl = [f for f in a.findings if f.metric == "N%L"]
    assert [(f.vm, round(f.value)) for f in nl] == [("wide-db", 55)]
    assert "14 vCPUs are wider than a NUMA node's 10 cores" in nl[0].cause
    assert "right-size the VM to 10 vCPUs" in nl[0].fix and "numa.vcpu.preferHT=TRUE" in nl[0].fix


def test_swapping_and_ballooning(tmp_path: Path) -> None:
    assert metrics_by_vm(make(tmp_path, "swapping")) == {
        ("squeezed", "%SWPWT"),
        ("squeezed", "MCTLSZ"),
        ("squeezed", "SWCUR"),
        ("squeezed", "SWR/s+SWW/s"),
    }


def test_frequent_numa_migrations_and_imbalance(tmp_path: Path) -> None:
    vms = [VmScript(f"n0-{i}", 8, run=80, home_node=0) for i in range(3)]
    vms += [VmScript("pingpong", 2, run=10, home_node=1, migrations_per_sample=1)]
    path = tmp_path / "numa.csv"
    write_scripted_capture(path, HOST, vms, samples=12)
    a = analyze_file(path)
    found = {(f.vm, f.metric): f for f in a.findings}
    assert found[("pingpong", "NMIG")].value == pytest.approx(12.0)  # 12 moves in 1 min
    imb = found[(None, "NUMA imbalance")]
    assert imb.evidence["node_util_mean"][0] > imb.evidence["node_util_mean"][1] + 20


def test_thresholds_are_overridable(tmp_path: Path) -> None:
    path = make(tmp_path, "overcommit")
    assert ("busy-1", "%RDY") in metrics_by_vm(path)
    assert ("busy-1", "%RDY") not in metrics_by_vm(path, rdy="30")
    assert ("busy-1", "%CSTP") not in metrics_by_vm(path, **{"%CSTP": "5"})


def test_bad_threshold_is_one_line_exit_1(tmp_path: Path, run_cli) -> None:
    code, out, err = run_cli("analyze", str(make(tmp_path, "healthy")), "--threshold", "rdyy=3")
    assert code == 1 and out == "" and err.count("\n") == 1 and "unknown threshold 'rdyy'" in err
    with pytest.raises(InputError, match="must be a number"):
        Thresholds().with_overrides({"rdy": "ten"})


def test_thresholds_are_documented(run_cli) -> None:
    code, out, _ = run_cli("analyze", "--list-thresholds")
    assert code == 0
    for name in Thresholds.names():
        assert re.search(rf"^  {name}\s", out, re.M), name


def test_terminal_summary(tmp_path: Path, run_cli) -> None:
    code, out, _ = run_cli("analyze", str(make(tmp_path, "wide")))
    assert code == 0
    assert "40 PCPUs (20 cores, HT), 2 NUMA node(s)" in out and "5 VMs with 22 vCPUs" in out
    assert "wide-db" in out and "N%L" in out and "right-size" in out


# --- field sets, size, damaged files -------------------------------------------------------------


def test_default_field_capture_says_numa_was_not_judged(tmp_path: Path) -> None:
    a = analyze_file(make(tmp_path, "limit", all_counters=False))
    assert not a.data.all_counters
    assert [(f.vm, f.metric) for f in a.findings if f.severity is not Severity.INFO] == [("capped", "%MLMTD")]
    info = [f for f in a.findings if f.severity is Severity.INFO]
    assert len(info) == 1 and "-a" in info[0].fix


def test_thousands_of_columns(tmp_path: Path) -> None:
    big = PRESETS["nfv-2x24-ht"]
    vms = [VmScript(f"vnf-{i}", 8, run=20, home_node=i % 2) for i in range(60)]
    path = tmp_path / "big.csv"
    write_scripted_capture(path, big, vms, samples=10)
    start = time.perf_counter()
    a = analyze_file(path)
    elapsed = time.perf_counter() - start
    assert a.data.total_columns > 10_000 and len(a.data.vms) == 60
    assert elapsed < 10, elapsed


def _spreadsheet_damage(src: Path, dst: Path) -> None:
    """What a spreadsheet re-save does: no quotes, CRLF, timestamps without seconds (esxtop.md §7)."""
    lines = src.read_text().splitlines()
    out = [lines[0].replace('"', "")]
    for line in lines[1:]:
        cells = line.replace('"', "").split(",")
        m, d, rest = cells[0].split("/")
        y, hms = rest.split(" ")
        cells[0] = f"{int(m)}/{int(d)}/{y} {int(hms[:2])}:{hms[3:5]}"
        out.append(",".join(cells))
    dst.write_bytes("\r\n".join(out).encode() + b"\r\n")


def test_spreadsheet_damaged_capture_still_analyzes(tmp_path: Path, run_cli) -> None:
    damaged = tmp_path / "resaved.csv"
    src = make(tmp_path, "limit", samples=6)
    _spreadsheet_damage(src, damaged)
    a = analyze_file(damaged)
    assert [f.metric for f in a.findings] == ["%MLMTD"]
    assert any("spreadsheet" in w for w in a.data.warnings)
    code, out, _ = run_cli("analyze", str(damaged))
    assert code == 0 and "spreadsheet" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello,world\n1,2\n", "no '(PDH-CSV 4.0)' header"),
        (b"\x00\x01binary", "binary data"),
        (b'"(PDH-CSV 4.0) (UTC)(0)","\\\\h\\Physical Cpu(0)\\% Util Time"\n', "no data rows"),
        (
            b'"(PDH-CSV 4.0) (UTC)(0)","\\\\h\\Memory\\Free MBytes"\n"01/01/2026 00:00:05","5"\n',
            "no 'Physical Cpu(n)'",
        ),
    ],
)
def test_unreadable_files_are_one_line_exit_1(tmp_path: Path, run_cli, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, out, err = run_cli("analyze", str(path), "--report", str(tmp_path / "r.html"))
    assert code == 1 and out == "" and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "r.html").exists()


def test_terminal_junk_before_the_header(tmp_path: Path) -> None:
    """esxtop with an unknown $TERM glues a warning before the header (esxtop.md §1.3)."""
    src = make(tmp_path, "limit", samples=4)
    glued = tmp_path / "termcap.csv"
    glued.write_bytes(b"no termcap entry for a 'xterm-256color' terminal" + src.read_bytes())
    a = analyze_file(glued)
    assert [f.metric for f in a.findings] == ["%MLMTD"] and a.data.warnings


def test_missing_file_is_one_line_exit_1(tmp_path: Path, run_cli) -> None:
    code, _, err = run_cli("analyze", str(tmp_path / "nope.csv"))
    assert code == 1 and err.count("\n") == 1 and "cannot read" in err
