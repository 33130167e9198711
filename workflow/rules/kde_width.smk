# Kernel width: exact MISE of a Gaussian KDE on Gaussian data vs the formulas of Paper B §2.2.


rule kde_width_tables:
    input:
        code=module_sources("memgen.experiments.kde_width"),
    output:
        curves=results("kde_width/curves.parquet"),
        curves_meta=results("kde_width/curves.json"),
        optima=results("kde_width/optima.parquet"),
        optima_meta=results("kde_width/optima.json"),
        formulas=results("kde_width/formulas.parquet"),
        formulas_meta=results("kde_width/formulas.json"),
    log:
        logs("kde_width/tables.log"),
    conda:
        ENV
    params:
        config=as_json(stage_config("kde_width")),
    shell:
        "python -m memgen.experiments.kde_width --config {params.config:q} --curves {output.curves} "
        "--optima {output.optima} --formulas {output.formulas} > {log} 2>&1"
