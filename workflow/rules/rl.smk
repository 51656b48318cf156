# Stage 2: one GRPO job per SFT run, starting from its final model; each job starts its own reward
# server on a free loopback port (or uses rl.reward.url) and stops it when done.


checkpoint rl:
    input:
        sft_model=LAYOUT.final_model(f"sft/{RUN}"),
        data=CFG.data.rl_train,
    output:
        model=directory(LAYOUT.final_model(f"rl/{RUN}")),
        metrics=LAYOUT.metrics(f"rl/{RUN}"),
    log:
        LAYOUT.log("rl", RUN),
    conda:
        ENV
    threads: RESOURCES["rl"].threads
    resources:
        gpus=RESOURCES["rl"].gpus,
    params:
        cli=CURIOSFT,
        overrides=RL_OVERRIDES_ARG,
        method_overrides=method_overrides_arg("rl"),
        run_dir=lambda wildcards, output: Path(output.metrics).parent,
    shell:
        "{params.cli} rl --sft-model {input.sft_model} --out {params.run_dir} {params.overrides}"
        " method={wildcards.method} schedule={wildcards.schedule} seed={wildcards.seed} {params.method_overrides}"
        " > {log} 2>&1"
