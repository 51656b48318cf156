# The embedded tiny world: synthetic data -> tokenizer -> pretrained tiny base model.


rule world_data:
    output:
        pretrain=f"{WORLD}/data/pretrain.parquet",
        sft=f"{WORLD}/data/sft_train.parquet",
        rl=f"{WORLD}/data/rl_train.parquet",
        test_id=benchmark_file("tiny_id"),
        test_mc=benchmark_file("tiny_mc"),
    log:
        f"{LOGS}/world/data.log",
    conda:
        ENV
    params:
        cli=CURIOSFT,
        overrides=WORLD_OVERRIDES_ARG,
        world=world_params(),
    shell:
        "{params.cli} world-data --out $(dirname {output.sft}) {params.overrides} > {log} 2>&1"


rule world_tokenizer:
    input:
        corpus=rules.world_data.output.pretrain,
    output:
        directory(f"{WORLD}/tokenizer"),
    log:
        f"{LOGS}/world/tokenizer.log",
    conda:
        ENV
    params:
        cli=CURIOSFT,
        overrides=WORLD_OVERRIDES_ARG,
        world=world_params(),
    shell:
        "{params.cli} world-tokenizer --corpus {input.corpus} --out {output} {params.overrides} > {log} 2>&1"


rule world_model:
    input:
        tokenizer=rules.world_tokenizer.output,
        corpus=rules.world_data.output.pretrain,
        test=rules.world_data.output.test_id,
    output:
        model=directory(f"{WORLD}/model"),
        report=f"{WORLD}/base_model.json",
    log:
        f"{LOGS}/world/model.log",
    conda:
        ENV
    threads: CFG.world.pretrain.threads
    params:
        cli=CURIOSFT,
        overrides=WORLD_OVERRIDES_ARG,
        world=world_params(),
    shell:
        "{params.cli} world-model --tokenizer {input.tokenizer} --corpus {input.corpus} --test {input.test}"
        " --out {output.model} --report {output.report} {params.overrides} > {log} 2>&1"
