"""bench/gpu.py runs end to end on CPU with the scaled-down families (`--device cpu --tiny`) and
writes its table as JSON and Markdown; the figures themselves come from a GPU run."""

from __future__ import annotations

import json
from pathlib import Path

from bench import gpu


def test_the_cpu_tiny_run_writes_json_and_markdown(tmp_path: Path) -> None:
    out = tmp_path / "gpu"
    argv = ["--device", "cpu", "--tiny", "--batches", "1,2", "--no-compile"]
    assert gpu.main([*argv, "--models-dir", str(tmp_path / "models"), "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert set(report["families"]) == {"sd15-mini", "sdxl-mini"}
    for result in report["families"].values():
        assert result["load_s"] > 0 and result["warmup_s"] > 0
        assert [row["batch"] for row in result["batches"]] == [1, 2]
        for row in result["batches"]:
            assert row["raw_images_per_s"] > 0 and row["sdq_images_per_s"] > 0
            assert row["peak_memory_bytes"] is None  # CPU: no GPU memory to report
        assert result["batches"][0]["batch_gain"] == 1
    table = out.with_suffix(".md").read_text().splitlines()
    rows = [line for line in table if line.startswith("| sd")]
    assert len(rows) == 2 * 2 + 2  # a row per family and batch, then a row per family
    assert "| family | batch | raw img/s | sdq img/s | sdq/raw | batch gain | peak GiB |" in table
