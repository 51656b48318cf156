# Stage 1: one SFT job per method x schedule x seed (verl's trainer with the method's objective).


checkpoint sft:
    input:
        unpack(sft_inputs),
    output:
        model=directory(LAYOUT.final_model(f"sft/{RUN}")),
        metrics=LAYOUT.metrics(f"sft/{RUN}"),
    log:
        LAYOUT.log("sft", RUN),
    conda:
        ENV
    threads: RESOURCES["sft"].threads
    resources:
        gpus=RESOURCES["sft"].gpus,
    params:
        cli=CURIOSFT,
        overrides=SFT_OVERRIDES_ARG,
        method_overrides=method_overrides_arg("sft"),
        run_dir=lambda wildcards, output: Path(output.metrics).parent,
    shell:
        "{params.cli} sft --out {params.run_dir} {params.overrides}"
        " method={wildcards.method} schedule={wildcards.schedule} seed={wildcards.seed} {params.method_overrides}"
        " > {log} 2>&1"
