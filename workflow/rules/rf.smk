# Paper A on Gaussian data: RF-DSM theory curves, finite-d simulation blocks, summaries.


rule rf_theory:
    input:
        code=module_sources("memgen.experiments.rf"),
    output:
        table=results("rf/{experiment}/theory.parquet"),
        meta=results("rf/{experiment}/theory.json"),
    log:
        logs("rf/{experiment}/theory.log"),
    wildcard_constraints:
        experiment=RF_EXPERIMENTS,
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("rf", w.experiment)),
    shell:
        "python -m memgen.experiments.rf theory {wildcards.experiment} --config {params.config:q} --out {output.table} > {log} 2>&1"


rule rf_simulation_block:
    input:
        code=module_sources("memgen.experiments.rf"),
    output:
        table=results("rf/{experiment}/simulation/block{block}.parquet"),
        meta=results("rf/{experiment}/simulation/block{block}.json"),
    log:
        logs("rf/{experiment}/simulation/block{block}.log"),
    wildcard_constraints:
        experiment=RF_EXPERIMENTS,
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("rf", w.experiment)),
        block=lambda w: int(w.block),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.rf simulate {wildcards.experiment} --config {params.config:q} "
        "--block {params.block} --seed {params.seed} --out {output.table} > {log} 2>&1"


rule rf_simulation_summary:
    input:
        tables=lambda w: rf_block_tables(w.experiment),
        code=module_sources("memgen.experiments.rf"),
    output:
        table=results("rf/{experiment}/simulation.parquet"),
        meta=results("rf/{experiment}/simulation.json"),
    log:
        logs("rf/{experiment}/simulation.log"),
    wildcard_constraints:
        experiment=RF_EXPERIMENTS,
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("rf", w.experiment)),
    shell:
        "python -m memgen.experiments.rf summarise {wildcards.experiment} --config {params.config:q} "
        "--out {output.table} {input.tables} > {log} 2>&1"
