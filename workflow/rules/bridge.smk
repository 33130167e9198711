# Paper B's transition metric on Paper A's RF diffusion models (N(0, I_d) data).


rule bridge_simulation_block:
    input:
        code=module_sources("memgen.experiments.bridge"),
    output:
        table=results("bridge/{kind}/block{block}.parquet"),
        meta=results("bridge/{kind}/block{block}.json"),
    log:
        logs("bridge/{kind}/block{block}.log"),
    wildcard_constraints:
        kind="transition|phase",
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("bridge", w.kind)),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.bridge simulate {wildcards.kind} --config {params.config:q} --block {wildcards.block} "
        "--seed {params.seed} --out {output.table} > {log} 2>&1"


rule bridge_summary:
    input:
        tables=lambda w: bridge_blocks(w.kind),
        code=module_sources("memgen.experiments.bridge"),
    output:
        table=results("bridge/{kind}/summary.parquet"),
        meta=results("bridge/{kind}/summary.json"),
        crossings=results("bridge/{kind}/crossings.parquet"),
        crossings_meta=results("bridge/{kind}/crossings.json"),
    log:
        logs("bridge/{kind}/summary.log"),
    wildcard_constraints:
        kind="transition|phase",
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("bridge", w.kind)),
    shell:
        "python -m memgen.experiments.bridge summarise {wildcards.kind} --config {params.config:q} --out {output.table} "
        "--crossings {output.crossings} {input.tables} > {log} 2>&1"


rule bridge_theory:
    input:
        code=module_sources("memgen.experiments.bridge"),
    output:
        table=results("bridge/{kind}/theory.parquet"),
        meta=results("bridge/{kind}/theory.json"),
    log:
        logs("bridge/{kind}/theory.log"),
    wildcard_constraints:
        kind="transition|phase",
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("bridge", w.kind)),
    shell:
        "python -m memgen.experiments.bridge theory {wildcards.kind} --config {params.config:q} --out {output.table} "
        "> {log} 2>&1"
