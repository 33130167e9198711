# Dataset stage: MNIST / Fashion-MNIST from the first source that works, prepared once.


rule data_prepare:
    input:
        code=module_sources("memgen.data"),
    output:
        arrays=results("data/{dataset}/prepared.npz"),
        manifest=results("data/{dataset}/manifest.json"),
    log:
        logs("data/{dataset}.log"),
    conda:
        ENV
    params:
        config=as_json(config["data"]),
        seed=config["seed"],
    shell:
        "python -m memgen.data prepare {wildcards.dataset} --config {params.config:q} --seed {params.seed} "
        "--out {output.arrays} --manifest {output.manifest} > {log} 2>&1"
