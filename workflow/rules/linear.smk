# Paper B's linear diffusion model: blocks of trials per (d, block), then summaries.


rule ldm_hellinger_block:
    input:
        code=module_sources("memgen.ldm_sweeps"),
    output:
        table="results/ldm/hellinger/d{d}/block{block}.parquet",
        meta="results/ldm/hellinger/d{d}/block{block}.json",
    log:
        "logs/ldm/hellinger/d{d}/block{block}.log",
    conda:
        ENV
    params:
        model=as_json(config["ldm"]["model"]),
        sweep=lambda w: as_json(ldm_sweep("hellinger", w.d)),
        trials=lambda w: trial_block(config["ldm"]["hellinger"], w.block),
        seed=config["seed"],
    shell:
        "python -m memgen.ldm_sweeps hellinger --model {params.model:q} --sweep {params.sweep:q} "
        "--trials {params.trials} --seed {params.seed} --out {output.table} > {log} 2>&1"


rule ldm_transition_block:
    input:
        code=module_sources("memgen.ldm_sweeps"),
    output:
        table="results/ldm/transition/d{d}/block{block}.parquet",
        meta="results/ldm/transition/d{d}/block{block}.json",
    log:
        "logs/ldm/transition/d{d}/block{block}.log",
    conda:
        ENV
    params:
        model=as_json(config["ldm"]["model"]),
        sweep=lambda w: as_json(ldm_sweep("transition", w.d)),
        trials=lambda w: trial_block(config["ldm"]["transition"], w.block),
        N=config["ldm"]["transition"]["N"],
        seed=config["seed"],
    shell:
        "python -m memgen.ldm_sweeps transition --model {params.model:q} --sweep {params.sweep:q} "
        "--N {params.N} --trials {params.trials} --seed {params.seed} --out {output.table} > {log} 2>&1"


rule ldm_summary:
    input:
        tables=lambda w: ldm_block_tables(w.section),
        code=module_sources("memgen.ldm_sweeps"),
    output:
        table="results/ldm/{section}_summary.parquet",
        meta="results/ldm/{section}_summary.json",
    log:
        "logs/ldm/{section}_summary.log",
    wildcard_constraints:
        section="hellinger|transition",
    conda:
        ENV
    shell:
        "python -m memgen.ldm_sweeps summarise {wildcards.section} --out {output.table} {input.tables} > {log} 2>&1"
