"""The GPU environment checked without a GPU: environment.yml resolves against the package index (a conflict
between our pins and verl[vllm]'s shows here, not on a cluster), the GPU check's wheels agree with it, and
the import-only ray that the GPU check carries imports verl."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import gpu_wheels  # noqa: E402

RECORDED = ("torch", "vllm", "transformers", "tokenizers", "flash-attn", "ray", "numpy")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def environment_requirements(repo: Path) -> list[str]:
    env = yaml.safe_load((repo / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return [f"-e {repo}{p.removeprefix('-e .')}" if p.startswith("-e .") else p for p in pip]


@pytest.mark.slow
def test_environment_yml_resolves_and_the_gpu_wheels_agree_with_it(repo, python, tmp_path):
    """pip's resolver on environment.yml's pip section for this Python (3.11, linux x86_64: the conda env's);
    --dry-run reads the packages' metadata only (no CUDA wheel is downloaded). The resolved versions are
    recorded in docs/testing.md; the test fails when they change, so the record stays true."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(environment_requirements(repo)) + "\n")
    report = tmp_path / "report.json"
    proc = subprocess.run([python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report",
                           str(report), "-r", str(requirements)], capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, "environment.yml does not resolve:\n" + proc.stderr[-4000:]
    resolved = {_norm(i["metadata"]["name"]): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
    recorded = {name: resolved.get(name) for name in RECORDED}
    print(json.dumps(recorded))
    docs = (repo / "docs" / "testing.md").read_text()
    for name, version in recorded.items():
        text = f"{name} {version}" if version else f"{name}: not in the environment"
        assert text in docs, f"docs/testing.md should record `{text}` (what environment.yml resolves to now)"
    pinned = dict(r.split("==") for r in gpu_wheels.requirements(repo / "constraints" / "gpu-wheels.txt"))
    differ = {n: (v, resolved.get(_norm(n))) for n, v in pinned.items() if resolved.get(_norm(n)) not in (None, v)}
    assert not differ, f"constraints/gpu-wheels.txt differs from environment.yml's resolution: {differ}"


def test_the_import_only_ray_imports_verl(tmp_path):
    """ray's files less gpu_wheels.RAY_CLUSTER_ONLY (this environment's ray, the same version the GPU check
    carries) first on the path: `import verl` and verl's SFT trainer import, with that ray."""
    import importlib.metadata as md

    dist = md.distribution("ray")
    assert dist.version == dict(r.split("==") for r in gpu_wheels.requirements(
        Path(gpu_wheels.REPO) / "constraints" / "gpu-wheels.txt"))["ray"]
    site = tmp_path / "site"
    kept = 0
    for file in dist.files:
        name = str(file)
        if name.startswith(("ray/", f"ray-{dist.version}.dist-info/")) and not name.startswith(
                gpu_wheels.RAY_CLUSTER_ONLY):
            target = site / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file.locate(), target)
            kept += 1
    assert not (site / "ray" / "core" / "src" / "ray" / "raylet").exists() and kept > 1000
    code = ("import ray, verl, verl.trainer.sft_trainer, curiosft.verl_ext.sft_trainer; "
            f"assert ray.__file__.startswith({str(site)!r}), ray.__file__; print(ray.__version__)")
    proc = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == dist.version
