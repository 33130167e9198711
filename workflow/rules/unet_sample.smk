# U-Net sampling: images of every model of a training job after each of its saved steps (GPU jobs).


rule unet_sample_gaussian:
    input:
        weights=results("unet_train/gaussian/n{n}_b{block}.pt"),
        code=module_sources("memgen.experiments.unet_sample"),
    output:
        samples=results("unet_sample/gaussian/n{n}_b{block}.npz"),
    log:
        logs("unet_sample/gaussian/n{n}_b{block}.log"),
    wildcard_constraints:
        n=r"\d+",
    conda:
        ENV
    resources:
        gpu=1,
    params:
        config=as_json(unet_sampling_config("gaussian")),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.unet_sample --weights {input.weights} --config {params.config:q} "
        "--seed {params.seed} --out {output.samples} > {log} 2>&1"


rule unet_sample_memorization:
    input:
        weights=results("unet_train/{dataset}/n{n}_m{m}.pt"),
        code=module_sources("memgen.experiments.unet_sample"),
    output:
        samples=results("unet_sample/{dataset}/n{n}_m{m}.npz"),
    log:
        logs("unet_sample/{dataset}/n{n}_m{m}.log"),
    wildcard_constraints:
        n=r"\d+",
        m=r"\d+|inf",
    conda:
        ENV
    resources:
        gpu=1,
    params:
        config=as_json(unet_sampling_config("memorization")),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.unet_sample --weights {input.weights} --config {params.config:q} "
        "--seed {params.seed} --out {output.samples} > {log} 2>&1"
