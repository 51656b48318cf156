# Real data sets: download from the hub (or read config `local_data`) and normalise (curiosft.data).


rule prepare_training_data:
    output:
        sft=LAYOUT.training_data("{dataset}")[0],
        rl=LAYOUT.training_data("{dataset}")[1],
    log:
        LAYOUT.log("data", "{dataset}"),
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
        LAYOUT.benchmark_file_pattern(),
    log:
        LAYOUT.log("data", "{benchmark}"),
    wildcard_constraints:
        benchmark="|".join(hub_benchmarks()),
    conda:
        ENV
    params:
        cli=CURIOSFT,
        local=local_data_arg,
    shell:
        "{params.cli} prepare-data {wildcards.benchmark} --out $(dirname {output}) {params.local} > {log} 2>&1"
