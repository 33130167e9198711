# U-Net scoring: Paper B's Gaussian-pixel transition (Fig. 4) and Paper A's study of m, from the
# weights of unet_train and the images of unet_sample; and their summaries.


rule unet_gaussian_block:
    input:
        samples=results("unet_sample/gaussian/n{n}_b{block}.npz"),
        training=results("unet_train/gaussian/n{n}_b{block}.parquet"),
        code=module_sources("memgen.experiments.unet"),
    output:
        table=results("unet/gaussian/n{n}_b{block}.parquet"),
        meta=results("unet/gaussian/n{n}_b{block}.json"),
    log:
        logs("unet/gaussian/n{n}_b{block}.log"),
    wildcard_constraints:
        n=r"\d+",
    conda:
        ENV
    params:
        config=as_json(stage_config("unet", "gaussian")),
        trials=lambda w: stage_trial_block("unet", "gaussian", w.block),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.unet gaussian --config {params.config:q} --n {wildcards.n} --trials {params.trials} "
        "--seed {params.seed} --samples {input.samples} --training {input.training} --out {output.table} > {log} 2>&1"


rule unet_gaussian_summary:
    input:
        tables=unet_gaussian_blocks(),
        code=module_sources("memgen.experiments.unet"),
    output:
        table=results("unet/gaussian/transition.parquet"),
        meta=results("unet/gaussian/transition.json"),
        steps=results("unet/gaussian/transition_steps.parquet"),
        steps_meta=results("unet/gaussian/transition_steps.json"),
    log:
        logs("unet/gaussian/transition.log"),
    conda:
        ENV
    shell:
        "python -m memgen.experiments.unet summarise gaussian --out {output.table} --by-step {output.steps} "
        "{input.tables} > {log} 2>&1"


rule unet_memorization:
    input:
        data=results("data/{dataset}/prepared.npz"),
        manifest=results("data/{dataset}/manifest.json"),
        weights=results("unet_train/{dataset}/n{n}_m{m}.pt"),
        samples=results("unet_sample/{dataset}/n{n}_m{m}.npz"),
        training=results("unet_train/{dataset}/n{n}_m{m}.parquet"),
        code=module_sources("memgen.experiments.unet"),
    output:
        table=results("unet/{dataset}/n{n}_m{m}.parquet"),
        meta=results("unet/{dataset}/n{n}_m{m}.json"),
        samples=results("unet/{dataset}/n{n}_m{m}_samples.npz"),
    log:
        logs("unet/{dataset}/n{n}_m{m}.log"),
    wildcard_constraints:
        n=r"\d+",
        m=r"\d+|inf",
    conda:
        ENV
    resources:
        gpu=1,
    params:
        config=as_json(stage_config("unet", "memorization")),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.unet memorization {wildcards.dataset} --config {params.config:q} --n {wildcards.n} "
        "--m {wildcards.m} --data {input.data} --manifest {input.manifest} --seed {params.seed} --weights {input.weights} "
        "--samples {input.samples} --training {input.training} --out {output.table} --grid {output.samples} > {log} 2>&1"


rule unet_memorization_summary:
    input:
        tables=unet_memorization_outputs("table"),
        code=module_sources("memgen.experiments.unet"),
    output:
        table=results("unet/memorization.parquet"),
        meta=results("unet/memorization.json"),
    log:
        logs("unet/memorization.log"),
    conda:
        ENV
    shell:
        "python -m memgen.experiments.unet summarise memorization --out {output.table} {input.tables} > {log} 2>&1"
