"""Non-VM worlds, the esxtop view of a simulated host, power management and the scenario keys they read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vmksim.errors import ScenarioError
from vmksim.scenario import DEFAULT_START, DEFAULT_SYSTEM_CPU_PCT, PowerPolicy, scenario_from_mapping

HOST = {"sockets": 1, "cores_per_socket": 2, "threads_per_core": 1, "memory_gb": 8}


def mapping(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {"host": dict(HOST), "vm": [{"name": "a", "vcpus": 1, "memory_gb": 1}]}
    base.update(extra)
    return base


# --- scenario keys -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (datetime(2018, 3, 4, 5, 6, 7, tzinfo=UTC), datetime(2018, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2018-03-04T05:06:07", datetime(2018, 3, 4, 5, 6, 7, tzinfo=UTC)),  # no offset: UTC
        ("2018-03-04T07:06:07+02:00", datetime(2018, 3, 4, 5, 6, 7, tzinfo=UTC)),
    ],
)
def test_run_start_is_a_utc_date_time(raw: object, expected: datetime) -> None:
    sc = scenario_from_mapping(mapping(run={"start": raw}))
    assert sc.run.start == expected
    assert scenario_from_mapping(mapping()).run.start == DEFAULT_START  # fixed default: deterministic


def test_host_system_and_power_policy_keys() -> None:
    sc = scenario_from_mapping(mapping())
    assert sc.system.cpu_pct == DEFAULT_SYSTEM_CPU_PCT and sc.power_policy is PowerPolicy.BALANCED
    host = {**HOST, "system": {"cpu_pct": 0}, "power_policy": "low-power"}
    sc = scenario_from_mapping(mapping(host=host))
    assert sc.system.cpu_pct == 0 and sc.power_policy is PowerPolicy.LOW_POWER


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"run": {"start": "yesterday"}}, "run.start: must be a date-time"),
        ({"host": {**HOST, "system": {"cpu_pct": -1}}}, "host.system.cpu_pct: must be >= 0"),
        ({"host": {**HOST, "system": {"cpu": 1}}}, "unknown key 'cpu'"),
        ({"host": {**HOST, "power_policy": "turbo"}}, "host.power_policy: must be one of balanced"),
    ],
)
def test_bad_keys_name_the_key(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario_from_mapping(mapping(**extra), source="s.toml")
