# Figures: one rule per entry of FIGURE_REGISTRY (common.smk), each running the papermill
# notebook notebooks/<name>.ipynb; the executed notebook is kept beside the figure.


for name, fig in FIGURE_REGISTRY.items():

    rule:
        name:
            f"figure_{name}"
        input:
            **fig["tables"],
            notebook=repo_path("notebooks", f"{name}.ipynb"),
            code=notebook_sources(name),
        output:
            pdf=figures(f"{name}.pdf"),
            png=report(
                figures(f"{name}.png"),
                category=fig["category"],
                caption=str(CAPTIONS[name].resolve()),
            ),
            notebook=figures(f"{name}.ipynb"),
        log:
            logs(f"figures/{name}.log"),
        conda:
            ENV
        params:
            parameters=as_json(
                {
                    **fig["tables"],
                    "out_prefix": figures(f"{name}"),
                    "config": fig["config"],
                    "index": fig["index"],
                }
            ),
        shell:
            PAPERMILL


rule figures_all:
    input:
        expand(figures("{name}.{ext}"), name=FIGURES, ext=["pdf", "png"]),
    output:
        figures("all"),
    log:
        logs("figures/all.log"),
    localrule: True
    conda:
        ENV
    shell:
        "ls -1 {input} > {output} 2> {log}"


# figures/all: the list of the last run's figures (the short target of every run; each run's own
# list is figures/<run>/all).
rule figures_all_latest:
    input:
        figures("all"),
    output:
        "figures/all",
    log:
        logs("figures/all_latest.log"),
    localrule: True
    conda:
        ENV
    shell:
        "cp {input} {output} 2> {log}"
