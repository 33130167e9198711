"""Training a DDPM ε-predictor: Adam on the ε-loss with m fixed noise draws per image, bf16
autocast on CUDA (float32 on CPU), optional ``torch.compile``, atomic checkpoints and resume.

One optimizer step minimises, over a batch of training images x_0,
    L = mean ‖ε̂(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t) − ε‖²,  t ~ U{0 … T−1} fresh, ε one of the image's m bank draws
(:func:`memgen.diffusion.eps_loss`). Every random draw comes from generators derived from
(seed, experiment, key): the model's initial weights, the noise bank, the batch order of each
epoch, and one training stream (times and bank picks) whose state is checkpointed. A run killed
at any point and started again resumes from its last checkpoint and ends with the same weights
as an uninterrupted run (bit for bit on CPU).

:func:`train_ddpm_packed` trains K models of one architecture concurrently in one process (the trials
or seeds of a job), each on exactly the stream :func:`train_ddpm` would give it, as one vectorised
forward and backward pass over the stacked parameters: small U-Nets then fill a device instead of
idling it.
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from memgen.diffusion import LinearSchedule, NoiseBank, eps_loss, eps_loss_inputs
from memgen.io import atomic_write, source_digest
from memgen.seeding import torch_generator
from memgen.unet import UNet, UNetConfig


@dataclass(frozen=True)
class TrainingConfig:
    """``epochs`` passes over the n images (Paper B: 20), or a fixed number of optimizer ``steps``
    (whichever is given; steps wins when both are). ``m``: noise draws per image (math.inf: fresh)."""

    batch_size: int = 128
    lr: float = 2e-4
    epochs: int | None = 20
    steps: int | None = None
    m: float = math.inf
    diffusion_steps: int = 10
    precision: str = "auto"  # auto: bf16 autocast on CUDA, float32 elsewhere; or float32 / bf16
    compile: bool = False
    checkpoint_every: int = 500  # optimizer steps between checkpoints (0: none)
    grad_clip: float = 1.0  # max gradient norm (0: no clipping)

    def total_steps(self, n: int) -> int:
        if self.steps is not None:
            return int(self.steps)
        if self.epochs is None:
            raise ValueError("TrainingConfig needs epochs or steps")
        return int(self.epochs) * math.ceil(n / self.batch_size)

    def use_bf16(self, device: torch.device) -> bool:
        if self.precision not in ("auto", "float32", "bf16"):
            raise ValueError(f"precision must be auto, float32 or bf16, got {self.precision!r}")
        return self.precision == "bf16" or (self.precision == "auto" and device.type == "cuda")


@dataclass
class TrainingResult:
    losses: np.ndarray  # one per optimizer step
    steps: int
    resumed_from: int  # 0 when the run started from scratch
    seconds: float  # this process's training time (a resumed run counts only its own part)


def build_unet(config: UNetConfig, seed: int, experiment: str, *key: int) -> UNet:
    """A U-Net whose initial weights derive from (seed, experiment, key), float32."""
    g = torch_generator(seed, f"{experiment}/init", *key)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(g.initial_seed()))
        return UNet(config).float()


def training_bank(images: torch.Tensor, m: float, seed: int, experiment: str, key, device) -> NoiseBank:
    """The m noise draws per image of a run, from (seed, experiment/bank, key): the same bank in
    training and in the evaluation of the training loss."""
    g = torch_generator(seed, f"{experiment}/bank", *key, device=device)
    return NoiseBank(len(images), tuple(images.shape[1:]), m, g, device=device)


# Library sources whose code determines the trained weights (a checkpoint of other code is not resumed).
_WEIGHT_CODE = ("diffusion", "seeding", "training", "unet")


def _fingerprint(
    cfg: TrainingConfig, model: torch.nn.Module, images: torch.Tensor, seed: int, experiment: str, key, device
) -> dict:
    """Everything that determines the trained weights: the training config, the data (sha256 of the
    float32 images, so μ, σ, the data set and its content), the architecture (the model's config and
    every parameter's name and shape), the seed and stream key, the code, the arithmetic (bf16 or
    float32, device type) and, on CPU, the thread count (it can change the order of reductions)."""
    config = getattr(model, "config", None)
    shapes = ";".join(f"{name}:{tuple(p.shape)}" for name, p in model.state_dict().items())
    return {
        "training": {k: str(v) for k, v in asdict(cfg).items() if k not in ("compile", "checkpoint_every")},
        "n": len(images),
        "data": hashlib.sha256(images.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()).hexdigest(),
        "architecture": {k: str(v) for k, v in asdict(config).items()} if config is not None else None,
        "parameters": hashlib.sha256(shapes.encode()).hexdigest(),
        "seed": seed,
        "experiment": experiment,
        "key": list(map(int, key)),
        "code": source_digest(_WEIGHT_CODE),
        "bf16": cfg.use_bf16(device),
        "device": device.type,
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
    }


def _all_finite(state: dict) -> bool:
    """The checkpoint's losses and every floating tensor of its model are finite."""
    tensors = [state["losses"], *(t for t in state["model"].values() if torch.is_floating_point(t))]
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save through a temporary file and a rename: a kill leaves the old checkpoint intact."""
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path, fingerprint: dict) -> dict | None:
    """The checkpoint at ``path`` if it exists and was written for the same run, else None."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a foreign or damaged file: say so, start over
        print(f"checkpoint {path} is unreadable ({err}); starting over")
        return None
    if not isinstance(state, dict) or state.get("fingerprint") != fingerprint:
        print(f"checkpoint {path} was written for another configuration (data, model, code or settings); starting over")
        return None
    if not _all_finite(state):
        print(f"checkpoint {path} holds non-finite weights or losses; discarded, starting over")
        return None
    return state


def save_finite_checkpoint(path: Path, state: dict, what: str) -> None:
    """:func:`save_checkpoint` of ``state`` only when its losses and weights are finite; otherwise the older
    checkpoint of the run is removed too and FloatingPointError names ``what`` (never a poisoned resume)."""
    if not _all_finite(state):
        path.unlink(missing_ok=True)
        raise FloatingPointError(f"{what}; no checkpoint written")
    save_checkpoint(path, state)


def checkpoint_due(cfg: TrainingConfig, step: int, total: int) -> bool:
    """A checkpoint after optimizer step ``step`` (1-based count) of ``total``, other than the final one."""
    return cfg.checkpoint_every > 0 and step % cfg.checkpoint_every == 0 and step < total


def epoch_order(n: int, seed: int, experiment: str, key, epoch: int, device) -> torch.Tensor:
    """The order of the n images in ``epoch``, drawn from (seed, experiment/epoch, key, epoch)."""
    return torch.randperm(n, generator=torch_generator(seed, f"{experiment}/epoch", *key, epoch)).to(device)


def train_ddpm(
    model: torch.nn.Module,
    images: torch.Tensor,
    cfg: TrainingConfig,
    seed: int,
    experiment: str,
    *key: int,
    checkpoint: str | Path | None = None,
    device: str | torch.device = "cpu",
    progress: bool = True,
    context: dict | None = None,
) -> TrainingResult:
    """Train ``model`` (in place) on ``images`` (n, C, H, W) scaled to [−1, 1]; see the module doc.
    ``context`` (e.g. the experiment's whole config slice and code digest) joins the checkpoint's
    fingerprint: a checkpoint is resumed only by a run with the same fingerprint.

    Step k of the run uses the batch k mod B of epoch k // B (B = ⌈n / batch⌉), in an order drawn
    from (seed, experiment/epoch, key, epoch); with ``checkpoint`` the model, optimizer, step and
    training-stream state are saved every ``cfg.checkpoint_every`` steps and at the end.
    """
    device = torch.device(device)
    model.to(device)
    x_all = images.to(device=device, dtype=_parameter_dtype(model))
    n = len(x_all)
    total = cfg.total_steps(n)
    per_epoch = math.ceil(n / cfg.batch_size)
    schedule = LinearSchedule(cfg.diffusion_steps)
    bank = training_bank(x_all, cfg.m, seed, experiment, key, device)
    g = torch_generator(seed, f"{experiment}/train", *key, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    losses = torch.zeros(total, dtype=torch.float32, device=device)
    fingerprint = {**_fingerprint(cfg, model, x_all, seed, experiment, key, device), "context": context}
    path = Path(checkpoint) if checkpoint is not None else None
    start = 0
    state = load_checkpoint(path, fingerprint) if path is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        g.set_state(state["generator"])
        start = int(state["step"])
        losses[:start] = state["losses"].to(device)
        print(f"resumed from {path} at step {start} of {total}")

    def save(step: int) -> None:
        state = {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "step": step,
            "generator": g.get_state(),
            "losses": losses[:step].cpu(),
            "fingerprint": fingerprint,
        }
        bad = int(torch.argmin(torch.isfinite(losses[:step]).int())) if step else 0
        what = f"{experiment} n={n}: non-finite loss or weights by step {step} (first non-finite loss at step {bad})"
        save_finite_checkpoint(path, state, what)

    forward = torch.compile(model) if cfg.compile else model
    bf16 = cfg.use_bf16(device)
    order, order_epoch = None, -1
    began = time.perf_counter()
    model.train()
    for step in tqdm(
        range(start, total), initial=start, total=total, desc=f"{experiment} n={n}", mininterval=5, disable=not progress
    ):
        epoch, b = divmod(step, per_epoch)
        if epoch != order_epoch:
            order = epoch_order(n, seed, experiment, key, epoch, device)
            order_epoch = epoch
        idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = eps_loss(forward, x_all[idx], idx, bank, schedule, g)
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        losses[step] = loss.detach().float()
        if path is not None and checkpoint_due(cfg, step + 1, total):
            save(step + 1)
    if path is not None:
        save(total)
    model.eval()
    out = losses.cpu().numpy().astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise FloatingPointError(
            f"{experiment} n={n}: the training loss became non-finite at step {int(np.argmin(np.isfinite(out)))}"
        )
    return TrainingResult(losses=out, steps=total, resumed_from=start, seconds=time.perf_counter() - began)


def _parameter_dtype(model: torch.nn.Module) -> torch.dtype:
    """The dtype training runs in: the model's (float32 from :func:`build_unet`; float64 in the tests that
    compare runs to rounding)."""
    return next(model.parameters()).dtype


def _clip_per_model(grads: list[torch.Tensor], max_norm: float) -> None:
    """In place, for every model k of a pack: the gradients' slice k scaled by min(1, max_norm / (‖g_k‖ + 1e-6)),
    ‖g_k‖ the 2-norm over all its parameters — ``torch.nn.utils.clip_grad_norm_`` applied to each model alone."""
    sq = torch.stack([g.flatten(1).square().sum(1) for g in grads]).sum(0)
    coef = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.reshape(-1, *([1] * (g.dim() - 1))).to(g.dtype))


def train_ddpm_packed(
    models: list[torch.nn.Module],
    image_sets: list[torch.Tensor],
    cfg: TrainingConfig,
    seed: int,
    experiment: str,
    keys: list[tuple[int, ...]],
    checkpoint: str | Path | None = None,
    device: str | torch.device = "cpu",
    progress: bool = True,
    context: dict | None = None,
) -> list[TrainingResult]:
    """Train K models of one architecture (in place) on K image sets of one size n, concurrently.

    Model k sees the stream ``train_ddpm(models[k], image_sets[k], cfg, seed, experiment, *keys[k])``
    would: its noise bank, batch order, times and bank picks come from its own generators, drawn in the
    same order. The K forward and backward passes run as one call vectorised over the models
    (``torch.func.stack_module_state`` + ``functional_call`` under ``vmap``); the loss is the sum of the
    K losses, so model k's gradient is its own loss's; gradients are clipped per model
    (:func:`_clip_per_model`), and Adam, being elementwise, updates each model's slice of the stacked
    parameters as its own optimizer would. The weights therefore equal K separate runs up to
    floating-point reassociation. With ``checkpoint`` the pack is checkpointed and resumed as one run
    (fingerprint: each model's :func:`train_ddpm` fingerprint). ``seconds`` of every result is the pack's
    training time."""
    from torch.func import functional_call, stack_module_state, vmap

    device = torch.device(device)
    K = len(models)
    if K == 0 or len(image_sets) != K or len(keys) != K:
        raise ValueError(f"train_ddpm_packed: {K} models, {len(image_sets)} image sets and {len(keys)} keys")
    sizes = {len(x) for x in image_sets}
    if len(sizes) != 1:
        raise ValueError(
            f"train_ddpm_packed: every model of a pack trains on n images of one size, got {sorted(sizes)}"
        )
    if any(getattr(getattr(m, "config", None), "dropout", 0.0) for m in models):
        raise ValueError("train_ddpm_packed: dropout would draw from the global generator; use dropout 0")
    for model in models:
        model.to(device).train()
    x_all = torch.stack([x.to(device=device, dtype=_parameter_dtype(models[0])) for x in image_sets])
    n = x_all.shape[1]
    total = cfg.total_steps(n)
    per_epoch = math.ceil(n / cfg.batch_size)
    schedule = LinearSchedule(cfg.diffusion_steps)
    banks = [training_bank(x_all[k], cfg.m, seed, experiment, keys[k], device) for k in range(K)]
    gens = [torch_generator(seed, f"{experiment}/train", *keys[k], device=device) for k in range(K)]
    params, buffers = stack_module_state(models)
    names = list(params)
    opt = torch.optim.Adam(list(params.values()), lr=cfg.lr)
    losses = torch.zeros(K, total, dtype=torch.float32, device=device)
    fingerprint = {
        "packed": [_fingerprint(cfg, models[k], x_all[k], seed, experiment, keys[k], device) for k in range(K)],
        "context": context,
    }
    path = Path(checkpoint) if checkpoint is not None else None
    start = 0
    state = load_checkpoint(path, fingerprint) if path is not None else None
    if state is not None:
        with torch.no_grad():
            for name in names:
                params[name].copy_(state["model"][name])
        opt.load_state_dict(state["optimizer"])
        for g, g_state in zip(gens, state["generator"]):
            g.set_state(g_state)
        start = int(state["step"])
        losses[:, :start] = state["losses"].to(device)
        print(f"resumed the pack of {K} from {path} at step {start} of {total}")

    def save(step: int) -> None:
        state = {
            "model": {name: p.detach() for name, p in params.items()},
            "optimizer": opt.state_dict(),
            "step": step,
            "generator": [g.get_state() for g in gens],
            "losses": losses[:, :step].cpu(),
            "fingerprint": fingerprint,
        }
        save_finite_checkpoint(path, state, f"{experiment} n={n}: non-finite loss or weights in a pack by step {step}")

    template = copy.deepcopy(models[0]).to("meta")

    def one_model(p, b, x_t, t):
        return functional_call(template, (p, b), (x_t, t))

    forward = vmap(one_model)
    if cfg.compile:
        forward = torch.compile(forward)
    bf16 = cfg.use_bf16(device)
    orders, order_epoch = None, -1
    began = time.perf_counter()
    for step in tqdm(
        range(start, total),
        initial=start,
        total=total,
        desc=f"{experiment} n={n} x{K}",
        mininterval=5,
        disable=not progress,
    ):
        epoch, b = divmod(step, per_epoch)
        if epoch != order_epoch:
            orders = [epoch_order(n, seed, experiment, key, epoch, device) for key in keys]
            order_epoch = epoch
        batch = []
        for k in range(K):
            idx = orders[k][b * cfg.batch_size : (b + 1) * cfg.batch_size]
            batch.append(eps_loss_inputs(x_all[k][idx], idx, banks[k], schedule, gens[k]))
        x_t, t, eps = (torch.stack(parts) for parts in zip(*batch))
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            pred = forward(params, buffers, x_t, t)
            per_model = ((pred - eps) ** 2).flatten(1).mean(1)
        opt.zero_grad(set_to_none=True)
        per_model.sum().backward()
        if cfg.grad_clip > 0:
            _clip_per_model([params[name].grad for name in names], cfg.grad_clip)
        opt.step()
        losses[:, step] = per_model.detach().float()
        if path is not None and checkpoint_due(cfg, step + 1, total):
            save(step + 1)
    if path is not None:
        save(total)
    seconds = time.perf_counter() - began
    with torch.no_grad():
        for k, model in enumerate(models):
            for name in names:
                model.get_parameter(name).copy_(params[name][k])
            model.eval()
    out = losses.cpu().numpy().astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise FloatingPointError(f"{experiment} n={n}: the training loss of a packed model became non-finite")
    return [TrainingResult(losses=out[k], steps=total, resumed_from=start, seconds=seconds) for k in range(K)]


@torch.no_grad()
def mean_eps_loss(
    model,
    images: torch.Tensor,
    m: float,
    cfg: TrainingConfig,
    seed: int,
    experiment: str,
    *key: int,
    repeats: int = 4,
    device: str | torch.device = "cpu",
) -> float:
    """The DSM (ε-prediction) loss of ``model`` averaged over ``repeats`` passes over ``images``, each
    image with a fresh t and one of its m noise draws: with the training bank's (seed, experiment, key)
    this is the training loss; with m = inf it is the loss on fresh noise (the test loss on held-out images)."""
    device = torch.device(device)
    x_all = images.to(device=device, dtype=torch.float32)
    schedule = LinearSchedule(cfg.diffusion_steps)
    bank = training_bank(x_all, m, seed, experiment, key, device)
    g = torch_generator(seed, f"{experiment}/eval", *key, device=device)
    total, count = 0.0, 0
    for _ in range(repeats):
        for i in range(0, len(x_all), cfg.batch_size):
            idx = torch.arange(i, min(i + cfg.batch_size, len(x_all)), device=device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cfg.use_bf16(device)):
                loss = eps_loss(model, x_all[idx], idx, bank, schedule, g)
            total += float(loss) * len(idx)
            count += len(idx)
    return total / count
