# Figures: one papermill notebook per figure; the executed notebook is kept beside it.


rule figure_ldm_hellinger:
    input:
        notebook="notebooks/ldm_hellinger.ipynb",
        summary="results/ldm/hellinger_summary.parquet",
        code=module_sources("memgen.plotting"),
    output:
        pdf="figures/ldm_hellinger.pdf",
        png=report("figures/ldm_hellinger.png", category="Paper B: linear diffusion model"),
        notebook="figures/ldm_hellinger.ipynb",
    log:
        "logs/figures/ldm_hellinger.log",
    conda:
        ENV
    params:
        parameters=lambda w, input: as_json(
            {"summary": input.summary, "out_prefix": "figures/ldm_hellinger", "model": config["ldm"]["model"]}
        ),
    shell:
        PAPERMILL


rule figure_ldm_transition:
    input:
        notebook="notebooks/ldm_transition.ipynb",
        summary="results/ldm/transition_summary.parquet",
        code=module_sources("memgen.plotting"),
    output:
        pdf="figures/ldm_transition.pdf",
        png=report("figures/ldm_transition.png", category="Paper B: linear diffusion model"),
        notebook="figures/ldm_transition.ipynb",
    log:
        "logs/figures/ldm_transition.log",
    conda:
        ENV
    params:
        parameters=lambda w, input: as_json(
            {
                "summary": input.summary,
                "out_prefix": "figures/ldm_transition",
                "model": config["ldm"]["model"],
                "N": config["ldm"]["transition"]["N"],
            }
        ),
    shell:
        PAPERMILL


rule figure_kde_width:
    input:
        notebook="notebooks/kde_width.ipynb",
        curves="results/kde_width/curves.parquet",
        optima="results/kde_width/optima.parquet",
        code=module_sources("memgen.plotting"),
    output:
        pdf="figures/kde_width.pdf",
        png=report("figures/kde_width.png", category="Paper B: kernel width"),
        notebook="figures/kde_width.ipynb",
    log:
        "logs/figures/kde_width.log",
    conda:
        ENV
    params:
        parameters=lambda w, input: as_json(
            {
                "curves": input.curves,
                "optima": input.optima,
                "out_prefix": "figures/kde_width",
                "sigma": config["kde_width"]["sigma"],
            }
        ),
    shell:
        PAPERMILL


rule figure_rf:
    input:
        notebook="notebooks/{figure}.ipynb",
        theory=lambda w: f"results/rf/{RF_FIGURES[w.figure]}/theory.parquet",
        simulation=lambda w: f"results/rf/{RF_FIGURES[w.figure]}/simulation.parquet",
        code=module_sources("memgen.plotting", "memgen.rf_sweeps"),
    output:
        pdf="figures/{figure}.pdf",
        png=report("figures/{figure}.png", category="Paper A: random features"),
        notebook="figures/{figure}.ipynb",
    log:
        "logs/figures/{figure}.log",
    wildcard_constraints:
        figure="|".join(RF_FIGURES),
    conda:
        ENV
    params:
        parameters=lambda w, input: as_json(
            {
                "theory": input.theory,
                "simulation": input.simulation,
                "out_prefix": f"figures/{w.figure}",
                "rf": rf_slice(RF_FIGURES[w.figure]),
            }
        ),
    shell:
        PAPERMILL


rule figure_rf_images:
    input:
        notebook="notebooks/{figure}.ipynb",
        tables=lambda w: rf_images_tables(RF_IMAGE_FIGURES[w.figure]),
        code=module_sources("memgen.plotting"),
    output:
        pdf="figures/{figure}.pdf",
        png=report("figures/{figure}.png", category="Paper A: random features on images"),
        notebook="figures/{figure}.ipynb",
    log:
        "logs/figures/{figure}.log",
    wildcard_constraints:
        figure="|".join(RF_IMAGE_FIGURES),
    conda:
        ENV
    params:
        parameters=lambda w, input: as_json(
            {
                "tables": list(input.tables),
                "out_prefix": f"figures/{w.figure}",
                "rf_images": config["rf_images"],
            }
        ),
    shell:
        PAPERMILL


UNET_FIGURE_INPUTS = {
    "unet_gaussian_transition": lambda: ["results/unet/gaussian/transition.parquet"],
    "unet_memorization_m": lambda: ["results/unet/memorization.parquet"],
    "unet_samples": lambda: unet_memorization_outputs("samples"),
}


rule figure_unet:
    input:
        notebook="notebooks/{figure}.ipynb",
        tables=lambda w: UNET_FIGURE_INPUTS[w.figure](),
        code=module_sources("memgen.plotting"),
    output:
        pdf="figures/{figure}.pdf",
        png=report("figures/{figure}.png", category="U-Net experiments"),
        notebook="figures/{figure}.ipynb",
    log:
        "logs/figures/{figure}.log",
    wildcard_constraints:
        figure="|".join(UNET_FIGURES),
    conda:
        ENV
    params:
        parameters=lambda w, input: as_json(
            {"tables": list(input.tables), "out_prefix": f"figures/{w.figure}", "unet": config["unet"]}
        ),
    shell:
        PAPERMILL


rule figure_bridge:
    input:
        notebook="notebooks/{figure}.ipynb",
        summary=lambda w: f"results/bridge/{BRIDGE_FIGURES[w.figure]}/summary.parquet",
        crossings=lambda w: f"results/bridge/{BRIDGE_FIGURES[w.figure]}/crossings.parquet",
        code=module_sources("memgen.plotting", "memgen.rf_theory", "memgen.grids"),
    output:
        pdf="figures/{figure}.pdf",
        png=report("figures/{figure}.png", category="Bridge: Paper B's metric on Paper A's models"),
        notebook="figures/{figure}.ipynb",
    log:
        "logs/figures/{figure}.log",
    wildcard_constraints:
        figure="|".join(BRIDGE_FIGURES),
    conda:
        ENV
    params:
        parameters=lambda w, input: as_json(
            {
                "summary": input.summary,
                "crossings": input.crossings,
                "out_prefix": f"figures/{w.figure}",
                "bridge": config["bridge"],
            }
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
