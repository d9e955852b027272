"""A brief chaos soak (`make chaos` runs a longer one): jobs in all three dialects while `sdq up`'s
workers, API, scaler, webhook sender and Redis are SIGKILLed, and no accepted job is lost."""

from __future__ import annotations

import json
from pathlib import Path

from chaos.plan import KINDS
from chaos.soak import main
from tests.helpers import print_logs

SEED = 17
JOBS = 20


def test_a_brief_soak_loses_no_job_stores_one_output_set_each_and_sends_every_webhook(
    tmp_path: Path,
) -> None:
    data, out = tmp_path / "data", tmp_path / "report.json"
    argv = ["--jobs", str(JOBS), "--duration", "30", "--seed", str(SEED), "--settle", "90"]
    try:
        code = main([*argv, "--data-dir", str(data), "--out", str(out)])
        report = json.loads(out.read_text())
        assert report["problems"] == []
        assert (report["lost"], report["not_accepted"]) == ({}, {})
        assert report["accepted"] == JOBS
        assert report["accepted_by_dialect"] == {"a1111": 7, "native": 7, "openai": 6}
        assert report["completed_webhooks"] >= 7
        assert {kill["kind"] for kill in report["kills"]} == set(KINDS)
        assert report["seed"] == SEED and f"--seed {SEED}" in report["command"]
        assert code == 0
    except BaseException:
        print_logs(data / "logs")
        raise
