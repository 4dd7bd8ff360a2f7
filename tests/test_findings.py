"""Each findings rule (vmksim.analyze.findings) on a tiny capture made to trip it, or not.

The captures are scripted (vmksim.analyze.synth: each vCPU shows the state
times asked for, no jitter) on the 8-PCPU two-node host, six samples of 5 s,
written as an esxtop batch CSV and read back, so every rule sees what it would
see in a real file. Expected outcomes follow from the rule and its threshold
(vmksim.analyze.thresholds: %RDY 10, %CSTP 3, %MLMTD 0, %SWPWT 5, MCTLSZ /
SWCUR / swap rate 0, N%L 80, NMIG 2/min, node gap 20, PCPU UTIL 90; critical at
2x the threshold), each case one step either side of it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vmksim.analyze import CaptureData, Finding, Severity, Thresholds, find, load_capture
from vmksim.analyze.synth import VmScript, write_scripted_capture
from vmksim.topology import HostTopology

SAMPLES = 6
INTERVAL_S = 5.0
TH = Thresholds()


def vm(name: str, vcpus: int = 2, **script: Any) -> VmScript:
    """A quiet VM (run 20 %, ready 1 %) spread over all nodes, without jitter, unless told otherwise."""
    defaults: dict[str, Any] = {"run": 20.0, "ready": 1.0, "home_node": None, "jitter": 0.0}
    return VmScript(name, vcpus, **{**defaults, **script})


def capture(tmp_path: Path, host: HostTopology, vms: list[VmScript], **kw: Any) -> CaptureData:
    path = tmp_path / "capture.csv"
    write_scripted_capture(path, host, vms, samples=SAMPLES, interval_s=INTERVAL_S, **kw)
    return load_capture(path)


def findings(tmp_path: Path, host: HostTopology, vms: list[VmScript], **kw: Any) -> list[Finding]:
    return find(capture(tmp_path, host, vms, **kw))


def by_metric(found: list[Finding], metric: str) -> list[tuple[str | None, Severity]]:
    return [(f.vm, f.severity) for f in found if f.metric == metric]


W, C = Severity.WARNING, Severity.CRITICAL


def test_a_quiet_host_has_no_findings(tmp_path: Path, two_node_ht_host: HostTopology) -> None:
    assert findings(tmp_path, two_node_ht_host, [vm("a"), vm("b")]) == []


def test_vms_below_every_threshold_raise_nothing(
    tmp_path: Path, two_node_ht_host: HostTopology, rng: np.random.Generator
) -> None:
    # Random quiet VMs: each counter below its threshold, host UTIL at most 4 x 2 x 40 % / 8 = 40 %.
    vms = [
        vm(
            f"vm{i}",
            run=float(rng.uniform(5, 40)),
            ready=float(rng.uniform(0, 0.9 * TH.rdy)),
            costop=float(rng.uniform(0, 0.9 * TH.cstp)),
            swap_wait=float(rng.uniform(0, 0.9 * TH.swpwt)),
            local_pct=float(rng.uniform(TH.nl + 1, 100)),
            memory_mb=1024,
        )
        for i in range(4)
    ]
    assert findings(tmp_path, two_node_ht_host, vms) == []


# --- CPU: per-vCPU rules (threshold per vCPU, critical above 2x) ----------------------------------


@pytest.mark.parametrize(
    ("metric", "script", "expected"),
    [
        ("%RDY", {"ready": 8.0}, []),
        ("%RDY", {"ready": 15.0}, [("x", W)]),
        ("%RDY", {"ready": 25.0}, [("x", C)]),
        # %MLMTD is part of %RDY: 15 % ready of which 12 % held back by a limit is 3 % contention
        ("%RDY", {"ready": 15.0, "max_limited": 12.0}, []),
        ("%CSTP", {"costop": 2.0}, []),
        ("%CSTP", {"costop": 5.0}, [("x", W)]),
        ("%CSTP", {"costop": 8.0}, [("x", C)]),
        # %MLMTD: any time held back is a finding; critical above max(%RDY threshold / 2, 0) = 5
        ("%MLMTD", {"ready": 3.0, "max_limited": 3.0, "cpu_max_mhz": 1500}, [("x", W)]),
        ("%MLMTD", {"ready": 12.0, "max_limited": 8.0, "cpu_max_mhz": 1500}, [("x", C)]),
        ("%SWPWT", {"swap_wait": 4.0}, []),
        ("%SWPWT", {"swap_wait": 7.0}, [("x", W)]),
        ("%SWPWT", {"swap_wait": 12.0}, [("x", C)]),
    ],
)
def test_per_vcpu_rules_at_their_thresholds(
    tmp_path: Path, two_node_ht_host: HostTopology, metric: str, script: dict[str, Any], expected: list[Any]
) -> None:
    found = findings(tmp_path, two_node_ht_host, [vm("x", **script), vm("quiet")])
    assert by_metric(found, metric) == expected


def test_a_finding_needs_the_threshold_exceeded_in_enough_samples(
    tmp_path: Path, two_node_ht_host: HostTopology
) -> None:
    # Jitter puts some samples of a VM at %RDY 10 +- 30 % over the threshold and some under; the
    # rule fires iff the share of samples over it reaches `persistence` (thresholds.py).
    data = capture(tmp_path, two_node_ht_host, [vm("x", ready=TH.rdy, jitter=0.3)], seed=3)
    series = data.vm_per_vcpu(data.vms[0], "% Ready")
    assert series is not None
    share = float((series > TH.rdy).mean())
    assert 0 < share < 1, "the seed must give samples on both sides of the threshold"
    for persistence in (share / 2, share, (1 + share) / 2):
        found = find(data, dataclasses.replace(TH, persistence=persistence))
        assert by_metric(found, "%RDY") == ([("x", W)] if persistence <= share else []), persistence


def test_co_stop_is_judged_only_for_smp_vms(tmp_path: Path, two_node_ht_host: HostTopology) -> None:
    # relaxed co-scheduling stops vCPUs of SMP VMs only (esxi-scheduler.md §1.2, §1.5)
    found = findings(tmp_path, two_node_ht_host, [vm("up", 1, costop=8.0), vm("smp", 2, costop=8.0)])
    assert by_metric(found, "%CSTP") == [("smp", C)]


def test_limit_finding_names_the_limit_from_alloc_max(tmp_path: Path, two_node_ht_host: HostTopology) -> None:
    found = findings(tmp_path, two_node_ht_host, [vm("capped", ready=3.0, max_limited=3.0, cpu_max_mhz=1500)])
    (limit,) = [f for f in found if f.metric == "%MLMTD"]
    assert limit.evidence["alloc_max_mhz"] == 1500
    assert "1500 MHz" in limit.message and limit.value == pytest.approx(3.0, abs=0.05)


def test_ready_finding_carries_its_evidence(tmp_path: Path, two_node_ht_host: HostTopology) -> None:
    found = findings(tmp_path, two_node_ht_host, [vm("x", ready=15.0), vm("quiet")])
    (ready,) = [f for f in found if f.metric == "%RDY"]
    assert ready.value == pytest.approx(15.0, abs=0.05) and ready.threshold == TH.rdy
    assert (ready.evidence["samples_over"], ready.evidence["samples"]) == (SAMPLES, SAMPLES)


# --- memory --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "script", "expected"),
    [
        ("MCTLSZ", {"balloon_mb": 0.0}, []),
        ("MCTLSZ", {"balloon_mb": 300.0}, [("x", W)]),  # ballooning: a warning
        ("SWCUR", {"swapped_mb": 200.0}, [("x", C)]),  # memory in host swap: critical
        ("SWR/s+SWW/s", {"swap_rate_mb_s": 2.0}, [("x", C)]),  # active swapping: critical
    ],
)
def test_memory_reclamation_rules(
    tmp_path: Path, two_node_ht_host: HostTopology, metric: str, script: dict[str, Any], expected: list[Any]
) -> None:
    found = findings(tmp_path, two_node_ht_host, [vm("x", memory_mb=2048, **script)])
    assert by_metric(found, metric) == expected


# --- NUMA ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_pct", "expected"),
    [(90.0, []), (60.0, [("x", W)]), (30.0, [("x", C)])],  # critical below 80 / 2
)
def test_poor_numa_locality(
    tmp_path: Path, two_node_ht_host: HostTopology, local_pct: float, expected: list[Any]
) -> None:
    found = findings(tmp_path, two_node_ht_host, [vm("x", local_pct=local_pct, memory_mb=4096, home_node=0)])
    assert by_metric(found, "N%L") == expected


def test_locality_cause_names_a_vm_wider_than_its_node(
    tmp_path: Path, two_node_ht_host: HostTopology
) -> None:
    # 3 vCPUs on 2-core nodes: a wide VM; it fits one node's 4 hyper-threads, so preferHT is offered
    found = findings(tmp_path, two_node_ht_host, [vm("wide", 3, local_pct=50, memory_mb=4096, home_node=0)])
    (nl,) = [f for f in found if f.metric == "N%L"]
    assert "wider than a NUMA node's 2 cores" in nl.cause and "numa.vcpu.preferHT=TRUE" in nl.fix


@pytest.mark.parametrize(("vcpus", "offers_prefer_ht"), [(30, True), (60, False)])
def test_prefer_ht_is_offered_only_when_the_vm_fits_a_nodes_threads(
    tmp_path: Path, nfv_host: HostTopology, vcpus: int, offers_prefer_ht: bool
) -> None:
    # nfv host: 24 cores and 48 hyper-threads per node (esxi-scheduler.md §2.3, preferHT)
    wide = vm("wide", vcpus, run=10.0, local_pct=50, memory_mb=8192, home_node=0)
    (nl,) = [f for f in findings(tmp_path, nfv_host, [wide]) if f.metric == "N%L"]
    assert "wider than a NUMA node's 24 cores" in nl.cause
    assert ("numa.vcpu.preferHT=TRUE" in nl.fix) is offers_prefer_ht


def test_locality_is_not_judged_on_a_single_node_host(tmp_path: Path, tiny_host: HostTopology) -> None:
    found = findings(tmp_path, tiny_host, [vm("x", local_pct=30.0)])
    assert by_metric(found, "N%L") == []


@pytest.mark.parametrize(
    ("per_sample", "expected"),
    # one move every 5 s sample is 12/min: above 2/min and above the critical 4/min
    [(0, []), (1, [("x", C)])],
)
def test_numa_migrations_per_minute(
    tmp_path: Path, two_node_ht_host: HostTopology, per_sample: int, expected: list[Any]
) -> None:
    found = findings(tmp_path, two_node_ht_host, [vm("x", migrations_per_sample=per_sample, home_node=0)])
    assert by_metric(found, "NMIG") == expected
    if expected:
        (nmig,) = [f for f in found if f.metric == "NMIG"]
        assert nmig.value == pytest.approx(per_sample * 60 / INTERVAL_S, rel=0.01)


def test_numa_imbalance_between_nodes(tmp_path: Path, two_node_ht_host: HostTopology) -> None:
    # Node 0's 4 PCPUs carry 4 vCPUs at 60 %: UTIL 60 % against node 1's ~0 %, a 60-point gap (> 2 x 20).
    lopsided = findings(tmp_path, two_node_ht_host, [vm("hot", 4, run=60.0, home_node=0)])
    assert by_metric(lopsided, "NUMA imbalance") == [(None, C)]
    # The same load split over both nodes: no gap.
    even = findings(
        tmp_path, two_node_ht_host, [vm("a", 2, run=60.0, home_node=0), vm("b", 2, run=60.0, home_node=1)]
    )
    assert by_metric(even, "NUMA imbalance") == []


# --- host ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("run", "expected"), [(80.0, []), (95.0, [(None, C)])])
def test_host_saturation(
    tmp_path: Path, two_node_ht_host: HostTopology, run: float, expected: list[Any]
) -> None:
    # 8 vCPUs on 8 PCPUs, each running *run* % of the time: PCPU UTIL = run (threshold 90 %);
    # critical because it is over in more than half of the samples (all of them).
    vms = [vm("a", 4, run=run, home_node=0), vm("b", 4, run=run, home_node=1)]
    assert by_metric(findings(tmp_path, two_node_ht_host, vms), "PCPU UTIL") == expected


def test_without_numa_counters_the_analyzer_says_it_did_not_judge_locality(
    tmp_path: Path, two_node_ht_host: HostTopology
) -> None:
    # Default esxtop fields (no -a) have no 'Numa % Local': one INFO finding says so.
    found = findings(tmp_path, two_node_ht_host, [vm("x", local_pct=30.0)], all_counters=False)
    assert [(f.severity, f.metric, f.vm) for f in found] == [(Severity.INFO, "N%L", None)]
    assert "esxtop -b -a" in found[0].fix


def test_findings_come_most_severe_first_host_before_vms(
    tmp_path: Path, two_node_ht_host: HostTopology
) -> None:
    vms = [
        vm("a", 4, run=93.0, home_node=0),  # a and b saturate the host's PCPUs
        vm("b", 4, run=93.0, home_node=1),
        vm("c", 2, run=2.0, ready=25.0),
        vm("d", 2, run=2.0, ready=15.0, balloon_mb=100.0),
    ]
    found = findings(tmp_path, two_node_ht_host, vms)
    order = [(f.severity, f.vm, f.metric) for f in found]
    assert order == [(C, None, "PCPU UTIL"), (C, "c", "%RDY"), (W, "d", "%RDY"), (W, "d", "MCTLSZ")]


def test_every_rule_has_a_case_here(tmp_path: Path, two_node_ht_host: HostTopology) -> None:
    # Two captures trip every rule above (saturation and node imbalance cannot share one); a new rule
    # in vmksim.analyze.findings.RULES makes this fail until it has its cases in this file.
    from vmksim.analyze.findings import RULES

    saturated = [
        vm("a", 4, run=93.0, home_node=0, costop=4.0, balloon_mb=10.0, swapped_mb=10.0),
        vm("b", 4, run=93.0, home_node=1, swap_wait=6.0, swap_rate_mb_s=1.0),
        vm("c", 2, run=2.0, ready=15.0),
        vm("d", 2, run=2.0, ready=3.0, max_limited=3.0, cpu_max_mhz=1500),
    ]
    lopsided = [vm("e", 4, run=60.0, home_node=0, local_pct=50.0, migrations_per_sample=1)]
    metrics = {f.metric for f in findings(tmp_path, two_node_ht_host, saturated)}
    metrics |= {f.metric for f in findings(tmp_path, two_node_ht_host, lopsided)}
    tested = {"PCPU UTIL", "%RDY", "%CSTP", "%MLMTD", "%SWPWT", "MCTLSZ", "SWCUR", "SWR/s+SWW/s"}
    tested |= {"N%L", "NMIG", "NUMA imbalance"}
    assert metrics == tested and len(RULES) == len(tested)
