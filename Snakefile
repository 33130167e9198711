# memgen: memorization vs generalization in diffusion models.
#   snakemake --cores 8 figures/all                              (paper scale: figures/paper/)
#   snakemake --cores 2 --configfile presets/cpu.yaml figures/all     (CPU preset: figures/cpu/)
# Every run writes under its own name: results/<run>/, figures/<run>/, logs/<run>/.
from pathlib import Path

from snakemake.utils import min_version

min_version("9.11")


configfile: Path(workflow.basedir) / "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/ldm.smk"
include: "workflow/rules/kde_width.smk"
include: "workflow/rules/rf.smk"
include: "workflow/rules/rf_dynamics.smk"
include: "workflow/rules/rf_images.smk"
include: "workflow/rules/unet_train.smk"
include: "workflow/rules/unet_sample.smk"
include: "workflow/rules/unet.smk"
include: "workflow/rules/unet_memorization_time.smk"
include: "workflow/rules/bridge.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        figures("all"),


check_targets()


onstart:
    stop_before_long_cpu_jobs()


onerror:
    report_failed_jobs()
