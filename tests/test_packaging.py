"""Packaging: the conda environment and pyproject agree; the CLI and the CI entry point are wired."""

from __future__ import annotations

import re
import subprocess

import pytest

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


def test_overrides_after_a_list_option_stay_overrides():
    """`curiosft eval ... --out r.jsonl experiment=smoke`: argparse gives --out (nargs="+", one records file per
    benchmark) the overrides too; they go back to the overrides (the CI caught this: the context-length check
    never ran, the job failed on '3 records files')."""
    from curiosft.cli import build_parser, overrides_after_lists

    parser = build_parser()
    argv = ["eval", "--model", "m", "--benchmark", "tiny_id", "tiny_mc", "--data", "a.parquet", "b.parquet",
            "--checkpoint", "base", "--out", "a.jsonl", "b.jsonl", "experiment=smoke", "+trainer.foo=1", "~eval.limit",
            "hydra/launcher=basic", "launcher@x=local"]
    args = parser.parse_args(argv)
    overrides_after_lists(args, parser)
    assert args.out == ["a.jsonl", "b.jsonl"] and args.benchmark == ["tiny_id", "tiny_mc"]
    assert args.overrides == ["experiment=smoke", "+trainer.foo=1", "~eval.limit", "hydra/launcher=basic",
                              "launcher@x=local"]
    # paths and names are never taken for overrides (~/ is a home folder, not a deletion)
    args = parser.parse_args(["eval", "--model", "~/m", "--benchmark", "x", "--data", "d", "--checkpoint", "base",
                              "--out", "results/eval/base/x.jsonl"])
    overrides_after_lists(args, parser)
    assert args.model == ["~/m"] and args.out == ["results/eval/base/x.jsonl"] and args.overrides == []
    with pytest.raises(SystemExit):
        args = parser.parse_args(["eval", "--model", "m", "--benchmark", "x", "--data", "d", "--checkpoint", "base",
                                  "--out", "experiment=smoke"])
        overrides_after_lists(args, parser)


def test_cli_sweep_lists_runs(python, repo):
    proc = subprocess.run([python, "-m", "curiosft.cli", "sweep", "--experiment", "tiny"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "method~sft/schedule~none/seed~1"
    assert len(proc.stdout.splitlines()) == 8


def _import_graph(repo) -> dict[str, set[str]]:
    """curiosft.<layer> -> the layers it imports (module-level and inside functions alike)."""
    import ast

    root = repo / "src" / "curiosft"
    layer = lambda name: ".".join(name.split(".")[:2])  # noqa: E731
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("curiosft.") and layer(name) != layer(module):
                    graph.setdefault(layer(module), set()).add(layer(name))
    return graph


def test_the_layers_import_each_other_without_a_circle(repo):
    graph = _import_graph(repo)
    assert "curiosft.methods" in graph["curiosft.verl_ext"]  # the walk sees real edges
    state: dict[str, str] = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != "open", f"import circle: {' -> '.join([*path, nxt])}"
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    # the leaves import nothing of the project but the errors (a run's name, the stage table's stages)
    for leaf in ("curiosft.errors", "curiosft.stages", "curiosft.benchmarks", "curiosft.generation_backends",
                 "curiosft.topology", "curiosft.defaults"):
        assert graph.get(leaf, set()) <= {"curiosft.errors"}, (leaf, graph.get(leaf))
    assert graph.get("curiosft.runid", set()) <= {"curiosft.errors", "curiosft.stages"}


def test_composing_a_config_imports_neither_torch_nor_a_stage(python):
    code = ("import sys; from curiosft.config import compose_config; compose_config(['method=curiosft']); "
            "bad = [m for m in sys.modules if m == 'torch' or m in ('curiosft.sft', 'curiosft.rl.run')]; "
            "assert not bad, bad")
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_wheel_install_composes_from_its_own_config_tree(repo, python, tmp_path):
    """No checkout: the wheel ships curiosft/conf; site settings come from a CURIOSFT_CONF_PATH folder."""
    import os
    import shutil

    project = tmp_path / "project"
    shutil.copytree(repo / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(repo / name, project / name)
    wheel = subprocess.run([python, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                            str(tmp_path / "dist"), str(project)], capture_output=True, text=True, cwd=project)
    assert wheel.returncode == 0, wheel.stderr[-2000:]
    (whl,) = (tmp_path / "dist").glob("curiosft-*.whl")
    site = tmp_path / "site"
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(whl)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-2000:]
    shutil.rmtree(project)  # nothing left to read but the installed copy
    local = tmp_path / "site-conf" / "local"
    local.mkdir(parents=True)
    (local / "default.yaml").write_text("# @package _global_\npaths:\n  results: /scratch/team/results\n")
    code = ("import curiosft, json; from curiosft.config import compose_config; "
            "c = compose_config(['experiment=paper', 'method=curiosft', 'schedule=fixed']); "
            "print(json.dumps([curiosft.__file__, c.paths.results, c.schedule.tau, c.method.clip_high "
            "if 'clip_high' in c.method else None]))")
    env = {**os.environ, "PYTHONPATH": str(site), "CURIOSFT_CONF_PATH": str(tmp_path / "site-conf")}
    env.pop("CURIOSFT_CONF", None)
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    package_file, results, tau, _ = json.loads(proc.stdout.splitlines()[-1])
    assert package_file.startswith(str(site)) and results == "/scratch/team/results" and tau == 1.3
    # the Hydra launcher for multirun on SLURM ships too: its config and its plugin module
    assert (site / "curiosft" / "conf" / "hydra" / "launcher" / "curiosft_slurm.yaml").is_file()
    assert (site / "hydra_plugins" / "curiosft_slurm_launcher" / "launcher.py").is_file()


def test_every_relative_link_of_the_docs_resolves(repo):
    pages = [repo / "README.md", *(repo / "docs").glob("*.md"), repo / "results" / "README.md"]
    broken = [(page.name, url) for page in pages for url in re.findall(r"\]\(([^)\s]+)\)", page.read_text())
              if not url.startswith(("http", "mailto", "#")) and not (page.parent / url.split("#")[0]).exists()]
    assert not broken


def test_every_project_error_is_a_curiosft_error():
    import importlib
    import inspect
    import pkgutil

    import curiosft
    from curiosft.errors import CuriosftError

    skip = {"curiosft.verl_ext.sft_worker", "curiosft.train", "curiosft.methods.teacher"}
    errors = {}
    for info in pkgutil.walk_packages(curiosft.__path__, "curiosft."):
        if info.name in skip or info.name.startswith("curiosft.verl_ext"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == info.name:
                errors[f"{info.name}.{name}"] = obj
    assert len(errors) >= 10, sorted(errors)
    assert [name for name, cls in errors.items() if not issubclass(cls, CuriosftError)] == []


def test_a_user_error_is_one_line_and_a_bug_keeps_its_traceback(python, tmp_path):
    proc = subprocess.run([python, "-m", "curiosft.cli", "prepare-data", "nosuch", "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("curiosft prepare-data: unknown data set 'nosuch'; choose one of "
                                   + proc.stderr.split("choose one of ", 1)[1].strip())
    # a bad config value: one line naming it
    proc = subprocess.run([python, "-m", "curiosft.cli", "config", "method=psft", "method.clip_low=-1"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "method.clip_low=-1.0" in proc.stderr
    # not a CuriosftError: the traceback stays (here a TypeError from inside the package)
    code = "from curiosft.cli import main; import curiosft.cli as c; c.cmd_datasets = None; main(['datasets'])"
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" in proc.stderr
