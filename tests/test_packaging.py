"""Packaging: the conda environment and pyproject agree; the CLI and the CI entry point are wired."""

from __future__ import annotations

import re
import subprocess

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import yaml


def _name(req: str) -> str:
    return re.split(r"[\[<>=!~ ]", req, maxsplit=1)[0].lower()


def test_environment_yml_pins_match_pyproject(repo):
    pyproject = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((repo / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip = [p for p in pip if not p.startswith("-e")]
    # the only difference allowed: verl's extra (verl-core on CPU, vllm on GPU clusters)
    normalise = lambda reqs: {_name(r): re.sub(r"\[[^\]]*\]", "", r).replace(" ", "") for r in reqs}  # noqa: E731
    assert normalise(pip) == normalise(pyproject)
    assert "verl[vllm]==0.9.1" in pip and "verl[verl-core]==0.9.1" in pyproject
    assert any(p.startswith("-e .") for p in next(d["pip"] for d in env["dependencies"] if isinstance(d, dict)))


def test_cpu_constraints_pin_the_local_torch_wheel(repo):
    lines = [ln for ln in (repo / "constraints" / "cpu.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines == ["torch==2.13.0"]
    assert "-c constraints/cpu.txt" in (repo / "Makefile").read_text()


def test_ci_runs_exactly_make_test(repo):
    ci = (repo / ".ci" / "run").read_text()
    assert "make test" in ci and '"$rc" -eq 5' in ci


def test_cli_help_lists_the_commands(python):
    proc = subprocess.run([python, "-m", "curiosft.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for command in ("config", "sweep", "world-data", "world-tokenizer", "world-model", "prepare-data", "datasets"):
        assert command in proc.stdout


def test_cli_sweep_lists_runs(python, repo):
    proc = subprocess.run([python, "-m", "curiosft.cli", "sweep", "--experiment", "tiny"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "method~sft/schedule~none/seed~1"
    assert len(proc.stdout.splitlines()) == 8
