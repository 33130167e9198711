# Memorization over training time in the U-Net study of m: curves along the saved steps, the onsets
# tau_mem(n), tau_gen(n) with their intervals over seeds, and the power law tau_mem ~ n^alpha.


rule unet_memorization_time:
    input:
        tables=unet_memorization_outputs("table"),
        code=module_sources("memgen.experiments.unet_memorization_time"),
    output:
        curves=results("unet_memorization_time/curves.parquet"),
        onsets=results("unet_memorization_time/onsets.parquet"),
        fits=results("unet_memorization_time/fits.parquet"),
        meta=multiext(results("unet_memorization_time/"), "curves.json", "onsets.json", "fits.json"),
    log:
        logs("unet_memorization_time/tables.log"),
    conda:
        ENV
    shell:
        "python -m memgen.experiments.unet_memorization_time --curves {output.curves} --onsets {output.onsets} "
        "--fits {output.fits} {input.tables} > {log} 2>&1"
