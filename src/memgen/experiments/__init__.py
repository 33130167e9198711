"""One driver per pipeline stage, named as its rule file (workflow/rules/<name>.smk), its
results folder (results/<name>/) and its command (python -m memgen.experiments.<name>):
ldm, kde_width, rf, rf_images, unet, bridge. Drivers call the library (memgen.*); the
library never imports a driver, and no driver imports another."""
