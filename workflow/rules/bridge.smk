# Paper B's transition metric on Paper A's RF diffusion models (N(0, I_d) data).


rule bridge_simulation_block:
    input:
        code=module_sources("memgen.experiments.bridge"),
    output:
        table=results("bridge/{experiment}/block{block}.parquet"),
        meta=results("bridge/{experiment}/block{block}.json"),
    log:
        logs("bridge/{experiment}/block{block}.log"),
    wildcard_constraints:
        experiment="transition|phase|sensitivity",
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("bridge", w.experiment)),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.bridge simulate {wildcards.experiment} --config {params.config:q} --block {wildcards.block} "
        "--seed {params.seed} --out {output.table} > {log} 2>&1"


rule bridge_summary:
    input:
        tables=lambda w: bridge_blocks(w.experiment),
        code=module_sources("memgen.experiments.bridge"),
    output:
        table=results("bridge/{experiment}/summary.parquet"),
        meta=results("bridge/{experiment}/summary.json"),
        crossings=results("bridge/{experiment}/crossings.parquet"),
        crossings_meta=results("bridge/{experiment}/crossings.json"),
    log:
        logs("bridge/{experiment}/summary.log"),
    wildcard_constraints:
        experiment="transition|phase",
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("bridge", w.experiment)),
    shell:
        "python -m memgen.experiments.bridge summarise {wildcards.experiment} --config {params.config:q} --out {output.table} "
        "--crossings {output.crossings} {input.tables} > {log} 2>&1"


rule bridge_theory:
    input:
        code=module_sources("memgen.experiments.bridge"),
    output:
        table=results("bridge/{experiment}/theory.parquet"),
        meta=results("bridge/{experiment}/theory.json"),
    log:
        logs("bridge/{experiment}/theory.log"),
    wildcard_constraints:
        experiment="transition|phase",
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("bridge", w.experiment)),
    shell:
        "python -m memgen.experiments.bridge theory {wildcards.experiment} --config {params.config:q} --out {output.table} "
        "> {log} 2>&1"


rule bridge_sensitivity:
    input:
        tables=bridge_blocks("sensitivity"),
        code=module_sources("memgen.experiments.bridge"),
    output:
        table=results("bridge/sensitivity/summary.parquet"),
        meta=results("bridge/sensitivity/summary.json"),
    log:
        logs("bridge/sensitivity/summary.log"),
    conda:
        ENV
    params:
        config=as_json(stage_config("bridge", "sensitivity")),
    shell:
        "python -m memgen.experiments.bridge summarise sensitivity --config {params.config:q} --out {output.table} "
        "{input.tables} > {log} 2>&1"
