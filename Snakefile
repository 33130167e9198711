# memgen: memorization vs generalization in diffusion models.
#   snakemake --cores 8 figures/all                              (paper scale, config.yaml)
#   snakemake --cores 2 --configfile presets/quick.yaml figures/all   (quick preset)
from snakemake.utils import min_version

min_version("9.11")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/ldm.smk"
include: "workflow/rules/kde_width.smk"
include: "workflow/rules/rf.smk"
include: "workflow/rules/rf_images.smk"
include: "workflow/rules/unet.smk"
include: "workflow/rules/bridge.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        "figures/all",
