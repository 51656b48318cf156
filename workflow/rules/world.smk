# The embedded tiny world: synthetic data -> tokenizer -> pretrained tiny base model.


rule world_data:
    output:
        pretrain=LAYOUT.world_data("pretrain.parquet"),
        sft=LAYOUT.world_data("sft_train.parquet"),
        rl=LAYOUT.world_data("rl_train.parquet"),
        test_id=benchmark_file("tiny_id"),
        test_mc=benchmark_file("tiny_mc"),
    log:
        LAYOUT.log("world", "data"),
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
        directory(LAYOUT.world_tokenizer),
    log:
        LAYOUT.log("world", "tokenizer"),
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
        model=directory(LAYOUT.model("base")),
        report=LAYOUT.world_report,
    log:
        LAYOUT.log("world", "model"),
    conda:
        ENV
    threads: RESOURCES["world"].threads
    params:
        cli=CURIOSFT,
        overrides=WORLD_OVERRIDES_ARG,
        world=world_params(),
    shell:
        "{params.cli} world-model --tokenizer {input.tokenizer} --corpus {input.corpus} --test {input.test}"
        " --out {output.model} --report {output.report} {params.overrides} > {log} 2>&1"
