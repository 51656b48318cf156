"""The GPU paths on a CUDA device (marker `gpu`; `make test-gpu`): tests/gpu_check.py's prepared run, its
report written to $OUT (the device machine's result folder) or $CURIOSFT_GPU_REPORT_DIR, else a temp folder."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gpu

torch = pytest.importorskip("torch")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (make test-gpu on a GPU machine)")
def test_sft_methods_resume_export_and_hf_eval_on_cuda(tmp_path):
    spec = importlib.util.spec_from_file_location("gpu_check", Path(__file__).with_name("gpu_check.py"))
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    out = Path(os.environ.get("CURIOSFT_GPU_REPORT_DIR") or os.environ.get("OUT") or tmp_path)
    # the runs and checkpoints stay in the temp folder: only the report goes back from the device machine
    report = gpu_check.main(out, "cuda", work=tmp_path / "work")
    print(json.dumps(report, indent=2), file=sys.stderr)
    assert report["passed"] and all(step["ok"] for step in report["steps"])
    assert report["steps"][-1]["details"]["device"].startswith("cuda")
