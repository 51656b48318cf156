# Evaluation: every checkpoint on every benchmark (one job per checkpoint) -> per-sample records; over training (eval.curve) every
# saved step of every run; the selected checkpoint of each run (eval.select); then the paper tables and figures.


# a checkpoint on every benchmark in one job (one start-up, the model loaded once): one records file each
rule eval:
    input:
        unpack(eval_inputs),
    output:
        [LAYOUT.eval_records("{checkpoint}", b) for b in CFG.eval.benchmarks],
    log:
        LAYOUT.log("eval", "{checkpoint}"),
    conda:
        ENV
    threads: RESOURCES["eval"].threads
    resources:
        gpus=RESOURCES["eval"].gpus,
    params:
        cli=RESOURCES["eval"].cli,
        model=lambda wildcards: checkpoint_model(wildcards.checkpoint),
        benchmarks=shlex.join(CFG.eval.benchmarks),
        overrides=EVAL_OVERRIDES_ARG,
        launcher=RESOURCES["eval"].launcher_arg,
    shell:
        "{params.cli} eval --model {params.model} --benchmark {params.benchmarks} --data {input.data}"
        " --out {output} --checkpoint {wildcards.checkpoint} --threads {threads} {params.overrides} {params.launcher}"
        " > {log} 2>&1"


# the evaluation over training of one run: every saved step it evaluates (curve_steps) on every curve
# benchmark, in one job with the curve protocol (--curve: eval.curve's samples and prompt limit), so the
# start-up is paid once per run, not once per step and benchmark; one records file per benchmark, each
# record naming its step. Its input is the steps' model folders, listed once the run (a Snakemake
# checkpoint) has finished.
rule eval_curve:
    input:
        models=curve_models,
        data=[benchmark_file(b) for b in CURVE_BENCHMARKS],
    output:
        [LAYOUT.curve_records(f"{{stage}}/{RUN}", b) for b in CURVE_BENCHMARKS],
    log:
        LAYOUT.log("curves", "{stage}", RUN),
    conda:
        ENV
    threads: RESOURCES["eval"].threads
    resources:
        gpus=RESOURCES["eval"].gpus,
    params:
        cli=RESOURCES["eval"].cli,
        checkpoints=lambda wildcards: shlex.join(curve_checkpoints(wildcards)),
        benchmarks=shlex.join(CURVE_BENCHMARKS),
        overrides=CURVE_OVERRIDES_ARG,
        launcher=RESOURCES["eval"].launcher_arg,
    shell:
        "{params.cli} eval --curve --model {input.models} --benchmark {params.benchmarks} --data {input.data}"
        " --out {output} --checkpoint {params.checkpoints} --threads {threads} {params.overrides} {params.launcher}"
        " > {log} 2>&1"


# eval.select=best:<benchmark or split>: the run's best step on its curve records (a checkpoint: the tables
# then ask for that step's full evaluation)
checkpoint select:
    input:
        run_curve_records,
    output:
        LAYOUT.selection(f"{{stage}}/{RUN}"),
    log:
        LAYOUT.log("select", "{stage}", RUN),
    conda:
        ENV
    params:
        cli=CURIOSFT,
        by=SELECT_BY,
    shell:
        "{params.cli} select --by {params.by} --records {input} --out {output} > {log} 2>&1"


rule tables:
    input:
        records=table_records,
        selections=selections,
        curves=curve_records,
        training=sft_outputs() + rl_outputs(),
    output:
        [f"{PAPER}/tables/{name}.{ext}" for name in TABLES for ext in ("csv", "md", "tex")],
        metrics=f"{PAPER}/tables/benchmark_metrics.csv",
        significance=[f"{PAPER}/tables/significance.{ext}" for ext in ("csv", "md")],
        provenance=[f"{PAPER}/tables/{name}.{ext}" for name in ("runs", "cost") for ext in ("csv", "md")],
        html=report_tables(),
    log:
        LAYOUT.log("paper", "tables"),
    conda:
        ENV
    params:
        cli=CURIOSFT,
        selected_by=f"--selected-by {SELECT_BY}" if SELECT_BY else "",
        out=lambda wildcards, output: Path(output[0]).parent.parent,
    shell:
        "{params.cli} report --what tables --records {input.records} --curve-records {input.curves}"
        " --training-metrics {input.training} {params.selected_by} --out {params.out} > {log} 2>&1"


rule figures:
    input:
        records=table_records,
        curves=curve_records,
        training=sft_outputs() + rl_outputs(),
    output:
        [
            report(
                f"{PAPER}/figures/{name}.png",
                caption=f"../report/figures/{name}.rst",
                category="Figures",
                labels={"figure": name},
            )
            for name in FIGURES
        ],
        [f"{PAPER}/figures/{name}.pdf" for name in FIGURES],
    log:
        LAYOUT.log("paper", "figures"),
    conda:
        ENV
    params:
        cli=CURIOSFT,
        out=lambda wildcards, output: Path(output[0]).parent.parent,
    shell:
        "{params.cli} report --what figures --records {input.records} --curve-records {input.curves}"
        " --training-metrics {input.training} --out {params.out} > {log} 2>&1"
