# Figures: one rule per entry of FIGURE_REGISTRY (common.smk), each running the papermill
# notebook notebooks/<name>.ipynb; the executed notebook is kept beside the figure.


for name, fig in FIGURE_REGISTRY.items():

    rule:
        name:
            f"figure_{name}"
        input:
            **fig["tables"],
            notebook=f"notebooks/{name}.ipynb",
            code=notebook_sources(name),
        output:
            pdf=f"figures/{name}.pdf",
            png=report(f"figures/{name}.png", category=fig["category"]),
            notebook=f"figures/{name}.ipynb",
        log:
            f"logs/figures/{name}.log",
        conda:
            ENV
        params:
            parameters=as_json(
                {**fig["tables"], "out_prefix": f"figures/{name}", "config": fig["config"], "index": fig["index"]}
            ),
        shell:
            PAPERMILL


rule figures_all:
    input:
        expand("figures/{name}.{ext}", name=FIGURES, ext=["pdf", "png"]),
    output:
        "figures/all",
    log:
        "logs/figures/all.log",
    localrule: True
    conda:
        ENV
    shell:
        "ls -1 {input} > {output} 2> {log}"
