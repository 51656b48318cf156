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
    # a run's curve job (its saved steps) is told apart from the run's final evaluation in squeue
    curve = tmp_path / "results" / "curves" / "rl" / "method~sft" / "schedule~none" / "seed~1" / "tiny_id.jsonl"
    steps = [f"rl/method~sft/schedule~none/seed~1/step~{s}" for s in (10, 20)]
    job = StageJob("eval", cfg, curve, model_dir=["/m10", "/m20"], checkpoint=steps, curve=True)
    assert job.name == "curiosft-eval-curve:method~sft/schedule~none/seed~1/tiny_id"
    # a checkpoint on every benchmark in one job: one records file and one manifest per benchmark
    both = [records, records.with_name("tiny_mc.jsonl")]
    job = StageJob("eval", cfg, both, model_dir="/m", checkpoint="rl/method~sft/schedule~none/seed~1",
                   benchmark=["tiny_id", "tiny_mc"], data_file=["/id.parquet", "/mc.parquet"])
    assert job.name == "curiosft-eval:method~sft/schedule~none/seed~1/tiny_id+tiny_mc"
    assert job.slurm_dir == records.parent / "slurm" / "tiny_id+tiny_mc"
    assert job.manifest_paths == [records.with_suffix(".manifest.json"), records.with_name("tiny_mc.manifest.json")]
    checkpoint, per_output = job._inputs()
    assert checkpoint == "rl/method~sft/schedule~none/seed~1"
    assert per_output == [("tiny_id", {"model": "/m", "benchmark": "/id.parquet"}),
                          ("tiny_mc", {"model": "/m", "benchmark": "/mc.parquet"})]
    # a records file per benchmark, named before anything is submitted
    from curiosft.errors import ConfigError

    short = StageJob("eval", cfg, both[:1], model_dir="/m", checkpoint="base", benchmark=["tiny_id", "tiny_mc"],
                     data_file=["/id.parquet", "/mc.parquet"])
    with pytest.raises(ConfigError, match="one data file and one records file per benchmark: 2 benchmarks"):
        short.claim()
    with pytest.raises(ConfigError, match="a sft job writes one output, not 2"):
        StageJob("sft", cfg, [run, run.with_name("seed~2")])
    with pytest.raises(ValueError, match="unknown stage 'dpo'"):
        StageJob("dpo", cfg, run)


def test_topology_and_multi_node_commands(tmp_path):
    # the tiny world's SFT runs at 1 thread (two jobs side by side on 2 cores)
    assert job_topology(compose_config(["experiment=smoke"]).launcher) == Topology(1, 1)
    assert job_topology(compose_config(["experiment=smoke", "launcher.threads_per_process=2"]).launcher) == Topology(1, 2)
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

    two_nodes = ["experiment=smoke", "launcher=slurm", "launcher.nodes=2", "launcher.gpus_per_node=0",
                 "launcher.cpus_per_task=4", "trainer.global_batch_size=8", "trainer.micro_batch_size_per_device=1"]
    # threads_per_process null: the task's CPUs (the tiny world asks for 1 thread, on SLURM too)
    cfg = compose_config(two_nodes + ["launcher.threads_per_process=null"])
    planned = planned_topology(cfg.launcher)
    assert planned == Topology(1, 4, 2) and planned.world_size == 2 and job_gpus(cfg.launcher) == 0
    assert job_topology(cfg.launcher).world_size == 2
    assert planned_topology(compose_config(two_nodes).launcher) == Topology(1, 1, 2)
    with pytest.raises(ConfigError, match="launcher.threads_per_process=8 must be between 1 and launcher.cpus_per_task=4"):
        compose_config(two_nodes + ["launcher.threads_per_process=8"])
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


# ------------------------------------------------------------------ time limits, requeue, requests
def _run_with_checkpoint(run_dir, step):
    checkpoints = run_dir / "checkpoints"
    (checkpoints / f"global_step_{step}").mkdir(parents=True, exist_ok=True)
    (checkpoints / "latest_checkpointed_iteration.txt").write_text(str(step))


def test_the_time_out_count_follows_progress(tmp_path):
    """Issue 26: three fixed time-outs failed a long run however much it trained. A time-out that brought a
    new checkpoint requeues; one that did not (or an evaluation, which does not resume) ends the job,
    naming the setting; a preemption always requeues."""
    from curiosft.launcher.requeue import no_requeue_reason

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    assert "no checkpoint saved in 60 min; raise launcher.timeout_min" in no_requeue_reason(
        run_dir, timed_out=True, timeout_min=60)
    assert no_requeue_reason(run_dir, timed_out=False, timeout_min=60) is None  # preempted: requeue
    for step in (100, 200, 300, 400, 500):  # far more time-outs than the old fixed 3, each with progress
        _run_with_checkpoint(run_dir, step)
        assert no_requeue_reason(run_dir, timed_out=True, timeout_min=60) is None
    assert "no new checkpoint since the last time limit (still step 500)" in no_requeue_reason(
        run_dir, timed_out=True, timeout_min=60)
    assert "an evaluation job does not resume" in no_requeue_reason(None, timed_out=True, timeout_min=60)


def test_a_stage_job_requeues_through_submitit_only_with_progress(smoke_world, tmp_path):
    """StageJob.checkpoint (submitit's hook): a DelayedSubmission of the same job to requeue, or None."""
    import time

    import submitit

    from curiosft.launcher.requeue import timed_out

    cfg = compose_config(["experiment=paper", f"paths.results={smoke_world}", "launcher.timeout_min=60"])
    job = StageJob("sft", cfg, tmp_path / "run")
    (tmp_path / "run").mkdir()
    job._attempt_started = time.time() - 55 * 60  # 55 of 60 min: the time limit's signal
    assert timed_out(job._attempt_started, 60) and not timed_out(time.time() - 30 * 60, 60)
    assert job.checkpoint() is None  # timed out without a checkpoint
    _run_with_checkpoint(tmp_path / "run", 10)
    requeued = job.checkpoint()
    assert isinstance(requeued, submitit.helpers.DelayedSubmission) and requeued.function is job
    job._attempt_started = time.time() - 5 * 60  # early: a preemption
    assert isinstance(job.checkpoint(), submitit.helpers.DelayedSubmission)
    assert StageJob("eval", cfg, tmp_path / "e.jsonl", checkpoint="base").checkpoint() is not None  # never ran


def test_preempted_jobs_count_as_still_the_runs():
    from curiosft.launcher.slurm import ACTIVE_STATES

    assert {"PREEMPTED", "REQUEUED", "PENDING", "RUNNING"} <= ACTIVE_STATES


def test_evaluation_jobs_ask_for_their_share_of_a_node():
    from curiosft.topology import eval_request

    assert eval_request(slurm(), 1) == {"nodes": 1, "gpus_per_node": 1, "cpus_per_task": 8, "mem_gb": 64}
    assert eval_request(slurm(), 2) == {"nodes": 1, "gpus_per_node": 2, "cpus_per_task": 16, "mem_gb": 128}
    assert eval_request(slurm("launcher.gpus_per_node=0"), 0)["cpus_per_task"] == 64


def test_hydra_multirun_on_slurm_takes_the_workflow_launchers_request():
    """Issue 26: `-m hydra/launcher=submitit_slurm` kept the plugin's 60-minute limit and no requeue; the
    shipped curiosft_slurm launcher reads launcher=slurm (one place) and requeues by progress."""
    from hydra import compose, initialize_config_dir

    from curiosft.config import register_schemas
    from curiosft.paths import conf_dir

    register_schemas()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        cfg = compose("config", overrides=["hydra/launcher=curiosft_slurm", "experiment=paper",
                                           "launcher.timeout_min=2880", "launcher.partition=gpu"],
                      return_hydra_config=True)
        hydra_launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
        local = compose("config", overrides=["hydra/launcher=curiosft_slurm"], return_hydra_config=True)
    launcher = cfg.launcher
    assert hydra_launcher["_target_"] == "hydra_plugins.curiosft_slurm_launcher.launcher.CuriosftSlurmLauncher"
    for key in ("partition", "nodes", "gpus_per_node", "cpus_per_task", "mem_gb", "timeout_min", "signal_delay_s"):
        assert hydra_launcher[key] == launcher[key], key
    assert hydra_launcher["timeout_min"] == 2880 and hydra_launcher["max_num_timeout"] > 1000
    from curiosft.launcher.requeue import UNCOUNTED_TIMEOUTS

    assert hydra_launcher["max_num_timeout"] == UNCOUNTED_TIMEOUTS
    with pytest.raises(Exception, match="hydra/launcher=curiosft_slurm submits with the request of launcher=slurm"):
        _ = local.hydra.launcher.timeout_min
