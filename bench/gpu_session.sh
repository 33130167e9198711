#!/usr/bin/env bash
# One prepared run on a GPU machine that has PyTorch but not this project's other packages (a lent
# machine, a fresh cloud node): the U-Net throughput and the U-Net results of presets/gpu.yaml, written
# as tables into one archive that `python -m memgen.reference gpu --from ARCHIVE` turns into the
# reference tables and figures on any machine (docs/running.md, "A GPU for one session").
#
#   bash bench/gpu_session.sh [throughput] [fig4] [study_m]      (default: throughput fig4)
#
# Before: `make gpu-wheels` (where pip can download) puts the missing packages into .whl/ (Snakemake
# without its ILP solver, the reference U-Net of bench_unet.py); this script installs them into
# /tmp/site and puts src/ on PYTHONPATH. Nothing is installed into the system.
#   throughput  bench/bench_unet.py (memgen against denoising_diffusion_pytorch, 16x16 and 28x28, bf16,
#               batch 128, with the fraction of the measured bf16 matrix product) and bench/bench_packed.py
#               (K = 1, 4, 16 Fig. 4 U-Nets packed against one after another) -> results/<run>/bench/
#   fig4        Paper B's Fig. 4 tables (Snakemake)            -> results/<run>/unet{,_train}/gaussian/
#   study_m     Paper A's study of m (Snakemake), from the images in .gpu_data/ (`make gpu-data` where the
#               data sets are; DATASETS=mnist limits it to one) -> results/<run>/unet{,_train}/<dataset>/
# Each stage runs under its own time limit in seconds (THROUGHPUT_LIMIT per benchmark, default 110;
# FIG4_LIMIT, 330; STUDY_M_LIMIT, 540), so a stage that overruns still leaves the others' tables, and
# `throughput fig4` ends within 10 minutes. GPU_JOBS (default 2) U-Net jobs share the GPU at once, so
# that one job's start (Python, CUDA) overlaps another's training. The archive is
# $OUT/gpu_results.tar.gz (OUT defaults to bench/out): every table (.parquet with its .json sidecar)
# and log of the run, the study of m's sample grids (unet/<dataset>/*_samples.npz, 16 images per model),
# and results/<run>/bench/session.parquet (each stage's wall time and exit status; device and commit in
# its sidecar). Weights and the other samples stay out.
# CONFIGFILES (default presets/gpu.yaml) names the run's config files; PYTHON the interpreter (python3).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out}
PYTHON=${PYTHON:-python3}
CONFIGFILES=${CONFIGFILES:-presets/gpu.yaml}
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(throughput fig4)
for stage in "${stages[@]}"; do
    case $stage in
    throughput | fig4 | study_m) ;;
    *)
        echo "gpu_session: unknown stage '$stage' (stages: throughput fig4 study_m)" >&2
        exit 2
        ;;
    esac
done
mkdir -p "$OUT"

if compgen -G ".whl/*.whl" > /dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
# the rules call `python`: make it this interpreter (a wrapper, not a link: a link out of a virtual
# environment's bin/ loses the environment)
bindir=$(mktemp -d)
printf '#!/bin/sh\nexec %q "$@"\n' "$(command -v "$PYTHON")" > "$bindir/python"
chmod +x "$bindir/python"
export PATH=$bindir:$PATH PYTHONUNBUFFERED=1

read -ra configfiles <<< "$CONFIGFILES"
configargs=(--configfile "${configfiles[@]}") # one flag: a second --configfile would replace the first
run=$("$PYTHON" -m memgen.config run-name "${configargs[@]}") || exit 2
if [ -d .gpu_data ] || [ -n "${DATASETS:-}" ]; then # one more config file, under the run's own name
    overlay=$bindir/session.yaml
    echo "run: $run" > "$overlay"
    if [ -d .gpu_data ]; then
        printf 'data:\n  sources: [idx_folder]\n  idx_folders: {mnist: %s, fashion_mnist: %s}\n' \
            "$PWD/.gpu_data/mnist" "$PWD/.gpu_data/fashion_mnist" >> "$overlay"
    fi
    [ -z "${DATASETS:-}" ] || printf 'unet:\n  memorization:\n    datasets: [%s]\n' "$DATASETS" >> "$overlay"
    configargs+=("$overlay")
fi
mkdir -p "results/$run/bench" "logs/$run"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2> /dev/null || echo "no nvidia-smi"
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

declare -A wall status
timed_stage() { # name limit command...
    local name=$1 limit=$2 start
    shift 2
    echo "== $name (limit $limit s): $*"
    start=$(date +%s%N)
    timeout --kill-after=20 "$limit" "$@"
    status[$name]=$?
    wall[$name]=$((($(date +%s%N) - start) / 1000000))
    echo "== $name: exit ${status[$name]} after ${wall[$name]} ms"
}

snakemake_tables() { # name limit target
    timed_stage "$1" "$2" "$PYTHON" -m snakemake "$3" "${configargs[@]}" --cores "$(nproc)" \
        --resources gpu="${GPU_JOBS:-2}" --scheduler greedy --keep-going --rerun-incomplete
}

for stage in "${stages[@]}"; do
    case $stage in
    throughput)
        timed_stage bench_unet "${THROUGHPUT_LIMIT:-110}" "$PYTHON" bench/bench_unet.py \
            --out "results/$run/bench/unet.parquet"
        timed_stage bench_packed "${THROUGHPUT_LIMIT:-110}" "$PYTHON" bench/bench_packed.py --configs fig4 \
            --packs 1 4 16 --batch 128 --steps 10 --repeats 3 --out "results/$run/bench/packed.parquet"
        ;;
    fig4)
        snakemake_tables fig4 "${FIG4_LIMIT:-330}" "results/$run/unet/gaussian/transition.parquet"
        ;;
    study_m)
        if [ ! -d .gpu_data ]; then
            echo "gpu_session: study_m reads its images from .gpu_data/, which is missing: run \`make gpu-data\`" \
                "where the data sets are and bring .gpu_data/ along" >&2
            status[study_m]=2 wall[study_m]=0
            continue
        fi
        snakemake_tables study_m "${STUDY_M_LIMIT:-540}" "results/$run/unet/memorization.parquet"
        ;;
    esac
done

# the session's own table: each stage's wall time and exit status; device and commit in its sidecar
"$PYTHON" - "results/$run/bench/session.parquet" \
    "$(for k in "${!wall[@]}"; do echo "$k ${wall[$k]} ${status[$k]}"; done)" << 'PY'
import sys

import pandas as pd
import torch

from memgen.io import provenance, write_table

path, lines = sys.argv[1], [line.split() for line in sys.argv[2].splitlines() if line.strip()]
table = pd.DataFrame([{"stage": k, "wall_time_s": int(ms) / 1000, "exit_status": int(s)} for k, ms, s in lines])
device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
write_table(table, path, provenance({}, None, float(table.wall_time_s.sum()), device=device))
print(table.to_string(index=False), "\non", device)
PY
find "results/$run" "logs/$run" -type f \( -name '*.parquet' -o -name '*.json' -o -name '*.log' -o -name '*_samples.npz' \) \
    -not -path '*/checkpoints/*' -print0 | tar --null -czf "$OUT/gpu_results.tar.gz" --files-from=-
echo "wrote $OUT/gpu_results.tar.gz ($(du -h "$OUT/gpu_results.tar.gz" | cut -f1))"
worst=0
for s in "${status[@]}"; do [ "$s" -gt "$worst" ] && worst=$s; done
exit "$worst"
