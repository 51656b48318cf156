# Evaluation: every checkpoint x benchmark -> per-sample records; then the paper tables and figures.


rule eval:
    input:
        unpack(eval_inputs),
    output:
        f"{RESULTS}/eval/{{checkpoint}}/{{benchmark}}.jsonl",
    params:
        cli=EVAL_CLI,
        overrides=EVAL_OVERRIDES_ARG,
        launcher=EVAL_LAUNCHER_ARG,
    threads: EVAL_THREADS
    resources:
        gpus=EVAL_GPUS,
    log:
        f"{LOGS}/eval/{{checkpoint}}/{{benchmark}}.log",
    conda:
        ENV
    shell:
        "{params.cli} eval --model {input.model} --benchmark {wildcards.benchmark} --data {input.data}"
        " --out {output} --checkpoint {wildcards.checkpoint} --threads {threads} {params.overrides} {params.launcher}"
        " > {log} 2>&1"


rule tables:
    input:
        records=eval_outputs(),
    output:
        [f"{PAPER}/tables/{name}.{ext}" for name in TABLES for ext in ("csv", "md", "tex")],
        metrics=f"{PAPER}/tables/benchmark_metrics.csv",
    params:
        cli=CURIOSFT,
        out=lambda wildcards, output: Path(output[0]).parent.parent,
    log:
        f"{LOGS}/paper/tables.log",
    conda:
        ENV
    shell:
        "{params.cli} report --what tables --records {input.records} --out {params.out} > {log} 2>&1"


rule figures:
    input:
        records=eval_outputs(),
        training=sft_outputs() + rl_outputs(),
    output:
        [f"{PAPER}/figures/{name}.{ext}" for name in FIGURES for ext in ("png", "pdf")],
    params:
        cli=CURIOSFT,
        out=lambda wildcards, output: Path(output[0]).parent.parent,
    log:
        f"{LOGS}/paper/figures.log",
    conda:
        ENV
    shell:
        "{params.cli} report --what figures --records {input.records} --training-metrics {input.training}"
        " --out {params.out} > {log} 2>&1"
