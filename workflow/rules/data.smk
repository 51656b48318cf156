# Real data sets: download from the hub (or read config `local_data`) and normalise (curiosft.data).


rule prepare_training_data:
    output:
        sft=f"{DATA}/{{dataset}}/sft_train.parquet",
        rl=f"{DATA}/{{dataset}}/rl_train.parquet",
    log:
        f"{LOGS}/data/{{dataset}}.log",
    wildcard_constraints:
        dataset="|".join(TRAINING_SETS),
    conda:
        ENV
    params:
        cli=CURIOSFT,
        local=local_data_arg,
    shell:
        "{params.cli} prepare-data {wildcards.dataset} --out $(dirname {output.sft}) {params.local} > {log} 2>&1"


rule prepare_benchmark:
    output:
        f"{DATA}/benchmarks/{{benchmark}}.parquet",
    log:
        f"{LOGS}/data/{{benchmark}}.log",
    wildcard_constraints:
        benchmark="|".join(hub_benchmarks()),
    conda:
        ENV
    params:
        cli=CURIOSFT,
        local=local_data_arg,
    shell:
        "{params.cli} prepare-data {wildcards.benchmark} --out $(dirname {output}) {params.local} > {log} 2>&1"
