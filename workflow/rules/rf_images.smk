# Paper A on images: RF learning curves and RF generation per data set.


rule rf_images_learning_curves:
    input:
        data=results("data/{dataset}/prepared.npz"),
        manifest=results("data/{dataset}/manifest.json"),
        code=module_sources("memgen.experiments.rf_images"),
    output:
        table=results("rf_images/{dataset}/learning_curves.parquet"),
        meta=results("rf_images/{dataset}/learning_curves.json"),
    log:
        logs("rf_images/{dataset}/learning_curves.log"),
    conda:
        ENV
    resources:
        gpu=1,
    params:
        config=as_json(stage_config("rf_images", "learning_curves")),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.rf_images learning-curves {wildcards.dataset} --config {params.config:q} "
        "--data {input.data} --manifest {input.manifest} --seed {params.seed} --out {output.table} > {log} 2>&1"


rule rf_images_generate:
    input:
        data=results("data/{dataset}/prepared.npz"),
        manifest=results("data/{dataset}/manifest.json"),
        code=module_sources("memgen.experiments.rf_images"),
    output:
        table=results("rf_images/{dataset}/generation.parquet"),
        meta=results("rf_images/{dataset}/generation.json"),
        samples=results("rf_images/{dataset}/samples.npz"),
        onset=results("rf_images/{dataset}/onset.parquet"),
        onset_meta=results("rf_images/{dataset}/onset.json"),
    log:
        logs("rf_images/{dataset}/generation.log"),
    conda:
        ENV
    resources:
        gpu=1,
    params:
        config=as_json(stage_config("rf_images", "generation")),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.rf_images generate {wildcards.dataset} --config {params.config:q} --data {input.data} "
        "--manifest {input.manifest} --seed {params.seed} --out {output.table} --samples {output.samples} "
        "--onset {output.onset} > {log} 2>&1"
