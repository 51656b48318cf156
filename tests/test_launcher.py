"""The launcher without a cluster: request validation against sinfo's view, job names and log folders,
torchrun and Ray commands for multi-node jobs, Hydra runs and multiruns on this machine."""

from __future__ import annotations

import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from curiosft.config import ConfigError, compose_config
from curiosft.launcher import StageJob
from curiosft.launcher.ray_cluster import ray_start_command
from curiosft.launcher.slurm import Partition, _gpus, _minutes, validate_request
from curiosft.sft import torchrun_command
from curiosft.topology import Topology, job_topology, planned_topology

CLUSTER = {
    "gpu": Partition("gpu", True, 2 * 24 * 60, cpus=96, mem_mb=1_000_000, gpus=8, nodes=2),
    "cpu": Partition("cpu", False, 60, cpus=32, mem_mb=128_000, gpus=0, nodes=4),
}


def slurm(*overrides):
    return compose_config(["experiment=paper", *overrides]).launcher


def test_a_request_that_fits_names_its_partition():
    assert validate_request(slurm(), CLUSTER).name == "gpu"  # the default partition
    assert validate_request(slurm("launcher.partition=gpu", "launcher.nodes=2"), CLUSTER).name == "gpu"


@pytest.mark.parametrize("overrides,message", [
    (["launcher.partition=a100"], "unknown SLURM partition launcher.partition='a100'; this cluster has gpu, cpu"),
    (["launcher.partition=cpu"], "launcher.gpus_per_node=8 but its nodes have 0 GPUs"),
    (["launcher.nodes=4"], "launcher.nodes=4 but partition 'gpu' has 2 node(s)"),
    (["launcher.cpus_per_task=128"], "launcher.cpus_per_task=128 but its nodes have 96 CPUs"),
    (["launcher.mem_gb=4096"], "launcher.mem_gb=4096 but its nodes have 976.6 GB"),
    (["launcher.timeout_min=5000"], "launcher.timeout_min=5000 is over its time limit of 2880 min"),
])
def test_impossible_requests_fail_naming_the_key_and_the_cluster(overrides, message):
    with pytest.raises(ConfigError) as info:
        validate_request(slurm(*overrides), CLUSTER)
    assert message in str(info.value)


def test_a_time_limit_signal_lead_that_cannot_fit_the_job_fails_naming_the_bound():
    """launcher.signal_delay_s is checked when the config is composed (the sbatch line it makes is tested on a
    real cluster: test_slurm.py, since submitit's executor needs srun)."""
    for value, why in ((30, "at least 60 s"), (90000, "less than launcher.timeout_min=1440 minutes")):
        with pytest.raises(ConfigError, match=f"launcher.signal_delay_s={value} must be .*{why}"):
            slurm(f"launcher.signal_delay_s={value}")


def test_sinfo_fields_parse():
    assert _minutes("infinite") == float("inf") and _minutes("1-00:00:00") == 1440 and _minutes("30:00") == 30
    assert _minutes("2:00:00") == 120
    assert _gpus("gpu:8") == 8 and _gpus("gpu:a100:4(S:0-1)") == 4 and _gpus("(null)") == 0


def test_stage_jobs_are_named_after_their_output(tmp_path):
    cfg = compose_config(["experiment=smoke"])
    run = tmp_path / "results" / "sft" / "method~sft" / "schedule~none" / "seed~1"
    job = StageJob("sft", cfg, run)
    assert job.name == "curiosft-sft:method~sft/schedule~none/seed~1"
    assert job.slurm_dir == run / "slurm"
    records = tmp_path / "results" / "eval" / "rl" / "method~sft" / "schedule~none" / "seed~1" / "tiny_id.jsonl"
    job = StageJob("eval", cfg, records)
    assert job.name == "curiosft-eval:method~sft/schedule~none/seed~1/tiny_id"
    assert job.slurm_dir == records.parent / "slurm" / "tiny_id"
    with pytest.raises(ValueError, match="unknown stage 'dpo'"):
        StageJob("dpo", cfg, run)


def test_topology_and_multi_node_commands(tmp_path):
    assert job_topology(compose_config(["experiment=smoke"]).launcher) == Topology(1, 2)
    # outside a SLURM job: one process per GPU, the task's CPUs shared among them
    assert job_topology(compose_config(["experiment=paper", "launcher.nodes=2"]).launcher) == Topology(8, 8, 2)
    one = torchrun_command(tmp_path, Topology(8, 8))
    assert "--standalone" in one and "--nproc-per-node=8" in one
    two = torchrun_command(tmp_path, Topology(8, 8, nnodes=2, node_rank=1, master_addr="node-a"))
    assert {"--nnodes=2", "--node-rank=1", "--master-addr=node-a"} <= set(two) and "--standalone" not in two
    assert ray_start_command(Topology(8, 8, 2, 0, "node-a"), 8)[:3] == ["ray", "start", "--head"]
    assert ray_start_command(Topology(8, 8, 2, 1, "node-a"), 8)[2:] == ["--address=node-a:6379", "--num-gpus=8",
                                                                      "--block"]


def test_one_topology_for_the_config_checks_the_launcher_and_the_workflow():
    """SLURM without GPUs on 2 nodes: one process per node, 2 ranks, everywhere (the batch check once
    counted 1 rank while the launcher started 2)."""
    from curiosft.config import ConfigError
    from curiosft.topology import job_gpus

    cfg = compose_config(["experiment=smoke", "launcher=slurm", "launcher.nodes=2", "launcher.gpus_per_node=0",
                          "launcher.cpus_per_task=4", "trainer.global_batch_size=8",
                          "trainer.micro_batch_size_per_device=1"])
    planned = planned_topology(cfg.launcher)
    assert planned == Topology(1, 4, 2) and planned.world_size == 2 and job_gpus(cfg.launcher) == 0
    assert job_topology(cfg.launcher).world_size == 2
    with pytest.raises(ConfigError, match="does not split over 2 data-parallel processes"):
        compose_config(["experiment=smoke", "launcher=slurm", "launcher.nodes=2", "launcher.gpus_per_node=0",
                        "trainer.global_batch_size=7"])


def test_the_launcher_dispatches_through_the_stage_table_and_imports_no_stage():
    from curiosft.evaluation.run import run_eval
    from curiosft.launcher.jobs import STAGES, stage_entry_point
    from curiosft.rl.run import run_rl
    from curiosft.sft import run_sft

    assert {s: stage_entry_point(s) for s in STAGES} == {"sft": run_sft, "rl": run_rl, "eval": run_eval}
    code = """
import sys
import curiosft.launcher, curiosft.launcher.jobs, curiosft.launcher.slurm
stages = {'curiosft.sft', 'curiosft.rl.run', 'curiosft.evaluation.run'} & set(sys.modules)
assert not stages, stages
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.verl
@pytest.mark.timeout(600)
def test_hydra_multirun_trains_one_run_per_output_folder(smoke_world, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "curiosft.train", "-m", "experiment=smoke", "method=sft,psft", "trainer.max_steps=2",
         f"paths.results={smoke_world}", f"hydra.sweep.dir={tmp_path}"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for method in ("sft", "psft"):
        run = tmp_path / f"method~{method}" / "schedule~none" / "seed~1"
        assert (run / "model" / "config.json").is_file()
        assert OmegaConf.load(run / "config.yaml").method.name == method
