# U-Net training: the weights of each job's models after their saved steps, and their loss curves.
# GPU jobs (resources gpu=1). Their only parameters are the training slice (memgen.planning), so a
# change to sampling, scoring or a figure retrains nothing. Checkpoints: unet.checkpoint_dir (through the
# environment, common.smk).


rule unet_train_gaussian:
    input:
        code=module_sources("memgen.experiments.unet_train"),
    output:
        weights=results("unet_train/gaussian/n{n}_b{block}.pt"),
        table=results("unet_train/gaussian/n{n}_b{block}.parquet"),
        meta=results("unet_train/gaussian/n{n}_b{block}.json"),
    log:
        logs("unet_train/gaussian/n{n}_b{block}.log"),
    wildcard_constraints:
        n=r"\d+",
    conda:
        ENV
    resources:
        gpu=1,
    params:
        config=as_json(unet_training_slice("gaussian")),
        trials=lambda w: stage_trial_block("unet", "gaussian", w.block),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.unet_train gaussian --config {params.config:q} --n {wildcards.n} "
        "--trials {params.trials} --seed {params.seed} --weights {output.weights} --out {output.table} > {log} 2>&1"


rule unet_train_memorization:
    input:
        data=results("data/{dataset}/prepared.npz"),
        manifest=results("data/{dataset}/manifest.json"),
        code=module_sources("memgen.experiments.unet_train"),
    output:
        weights=results("unet_train/{dataset}/n{n}_m{m}.pt"),
        table=results("unet_train/{dataset}/n{n}_m{m}.parquet"),
        meta=results("unet_train/{dataset}/n{n}_m{m}.json"),
    log:
        logs("unet_train/{dataset}/n{n}_m{m}.log"),
    wildcard_constraints:
        n=r"\d+",
        m=r"\d+|inf",
    conda:
        ENV
    resources:
        gpu=1,
    params:
        config=as_json(unet_training_slice("memorization")),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.unet_train memorization {wildcards.dataset} --config {params.config:q} "
        "--n {wildcards.n} --m {wildcards.m} --data {input.data} --manifest {input.manifest} --seed {params.seed} "
        "--weights {output.weights} --out {output.table} > {log} 2>&1"
