# Paper B's linear diffusion model: blocks of trials per (d, block), then summaries.


rule ldm_hellinger_block:
    input:
        code=module_sources("memgen.experiments.ldm"),
    output:
        table=results("ldm/hellinger/d{d}/block{block}.parquet"),
        meta=results("ldm/hellinger/d{d}/block{block}.json"),
    log:
        logs("ldm/hellinger/d{d}/block{block}.log"),
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("ldm", "hellinger", d=w.d)),
        trials=lambda w: stage_trial_block("ldm", "hellinger", w.block),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.ldm hellinger --config {params.config:q} "
        "--trials {params.trials} --seed {params.seed} --out {output.table} > {log} 2>&1"


rule ldm_transition_block:
    input:
        code=module_sources("memgen.experiments.ldm"),
    output:
        table=results("ldm/transition/d{d}/block{block}.parquet"),
        meta=results("ldm/transition/d{d}/block{block}.json"),
    log:
        logs("ldm/transition/d{d}/block{block}.log"),
    conda:
        ENV
    params:
        config=lambda w: as_json(stage_config("ldm", "transition", d=w.d)),
        trials=lambda w: stage_trial_block("ldm", "transition", w.block),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.ldm transition --config {params.config:q} "
        "--trials {params.trials} --seed {params.seed} --out {output.table} > {log} 2>&1"


rule ldm_summary:
    input:
        tables=lambda w: ldm_block_tables(w.experiment),
        code=module_sources("memgen.experiments.ldm"),
    output:
        table=results("ldm/{experiment}_summary.parquet"),
        meta=results("ldm/{experiment}_summary.json"),
    log:
        logs("ldm/{experiment}_summary.log"),
    wildcard_constraints:
        experiment="hellinger|transition",
    conda:
        ENV
    shell:
        "python -m memgen.experiments.ldm summarise {wildcards.experiment} --out {output.table} {input.tables} > {log} 2>&1"
