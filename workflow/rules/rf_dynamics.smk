# Paper A's RF model trained by gradient flow, in closed form: train and test errors, the distances to the
# empirical and true scores along training time per psi_n (every m and seed), then the onsets tau_gen,
# tau_mem with their intervals over seeds and their scaling with psi_n.


rule rf_dynamics_block:
    input:
        code=module_sources("memgen.experiments.rf_dynamics"),
    output:
        table=results("rf_dynamics/block{block}.parquet"),
        meta=results("rf_dynamics/block{block}.json"),
    log:
        logs("rf_dynamics/block{block}.log"),
    conda:
        ENV
    params:
        config=as_json(stage_config("rf", "dynamics")),
        psi_n=lambda w: rf_dynamics_psi_n(w.block),
        seed=config["seed"],
    shell:
        "python -m memgen.experiments.rf_dynamics simulate --config {params.config:q} --psi-n {params.psi_n} "
        "--seed {params.seed} --out {output.table} > {log} 2>&1"


rule rf_dynamics:
    input:
        tables=rf_dynamics_tables(),
        code=module_sources("memgen.experiments.rf_dynamics"),
    output:
        curves=results("rf_dynamics/curves.parquet"),
        onsets=results("rf_dynamics/onsets.parquet"),
        fits=results("rf_dynamics/fits.parquet"),
        meta=multiext(results("rf_dynamics/"), "curves.json", "onsets.json", "fits.json"),
    log:
        logs("rf_dynamics/tables.log"),
    conda:
        ENV
    params:
        config=as_json(stage_config("rf", "dynamics")),
    shell:
        "python -m memgen.experiments.rf_dynamics summarise --config {params.config:q} --curves {output.curves} "
        "--onsets {output.onsets} --fits {output.fits} {input.tables} > {log} 2>&1"
