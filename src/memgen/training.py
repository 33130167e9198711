"""Training a DDPM ε-predictor: Adam on the ε-loss with m fixed noise draws per image, bf16
autocast on CUDA (float32 on CPU), optional ``torch.compile``, atomic checkpoints and resume.

One optimizer step minimises, over a batch of training images x_0,
    L = mean ‖ε̂(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t) − ε‖²,  t ~ U{0 … T−1} fresh, ε one of the image's m bank draws
(:func:`memgen.diffusion.eps_loss`). Every random draw comes from generators derived from
(seed, experiment, key): the model's initial weights, the noise bank, the batch order of each
epoch, and one training stream (times and bank picks) whose state is checkpointed. A run killed
at any point and started again resumes from its last checkpoint and ends with the same weights
as an uninterrupted run (bit for bit on CPU).

One loop (:func:`train_ddpm_models`) trains one model or K models of one architecture concurrently
in one process (the trials or seeds of a job), each on exactly the stream it would see alone, as
one vectorised forward and backward pass over the stacked parameters: small U-Nets then fill a
device instead of idling it. The weights are kept at the steps the config asks for
(``TrainingConfig.snapshots``) and at the end: the training stage's artefacts, which sampling and
scoring read (:func:`save_weights`, :func:`load_weights`).
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
from memgen.io import atomic_write
from memgen.planning import total_steps
from memgen.seeding import torch_generator
from memgen.sources import source_digest
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
    snapshots: tuple[int, ...] = ()  # optimizer steps after which the weights are kept (besides the last)
    noise_bank: str = "noise"  # what the m draws per image are: noises ε ("noise") or (ε, t) pairs ("pairs")

    def total_steps(self, n: int) -> int:
        """:func:`memgen.planning.total_steps`: steps wins over epochs."""
        return total_steps({"steps": self.steps, "epochs": self.epochs, "batch_size": self.batch_size}, n)

    def snapshot_steps(self, n: int) -> list[int]:
        """The steps whose weights a run on n images keeps: ``snapshots`` up to the last step, and the last."""
        last = self.total_steps(n)
        return sorted({*(int(s) for s in self.snapshots if 0 < int(s) <= last), last})

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
    snapshots: dict[int, dict[str, torch.Tensor]]  # step -> the model's state dict after that step (CPU)


def build_unet(config: UNetConfig, seed: int, experiment: str, *key: int) -> UNet:
    """A U-Net whose initial weights derive from (seed, experiment, key), float32."""
    g = torch_generator(seed, f"{experiment}/init", *key)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(g.initial_seed()))
        return UNet(config).float()


def training_bank(
    images: torch.Tensor, m: float, seed: int, experiment: str, key, device, cfg: TrainingConfig | None = None
) -> NoiseBank:
    """The m draws per image of a run (noises, or (ε, t) pairs as ``cfg.noise_bank`` says), from
    (seed, experiment/bank, key): the same bank in training and in the evaluation of the training loss."""
    g = torch_generator(seed, f"{experiment}/bank", *key, device=device)
    protocol = cfg.noise_bank if cfg is not None else "noise"
    steps = cfg.diffusion_steps if cfg is not None else None
    return NoiseBank(len(images), tuple(images.shape[1:]), m, g, device=device, protocol=protocol, steps=steps)


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
        "training": {k: str(v) for k, v in asdict(cfg).items() if k != "checkpoint_every"},
        "n": len(images),
        "data": hashlib.sha256(images.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()).hexdigest(),
        "architecture": {k: str(v) for k, v in asdict(config).items()} if config is not None else None,
        "parameters": hashlib.sha256(shapes.encode()).hexdigest(),
        "seed": seed,
        "experiment": experiment,
        "key": list(map(int, key)),
        "code": source_digest("memgen.training"),
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


class _Models:
    """The K models of a run as the training loop sees them: their trainable tensors, one forward pass and
    per-model losses for all K, per-model gradient clipping, and their state as tensors stacked over the
    models (checkpoints, snapshots). One model (K = 1) is trained as itself: its own parameters, forward
    and ``clip_grad_norm_``; K > 1 as one vectorised call over the stacked parameters
    (``torch.func.stack_module_state`` + ``functional_call`` under ``vmap``)."""

    def __init__(self, models: list[torch.nn.Module], compile: bool):
        self.models = models
        if len(models) == 1:
            self.params = dict(models[0].named_parameters())
            self.buffers = {k: b.unsqueeze(0) for k, b in models[0].named_buffers()}
            forward = torch.compile(models[0]) if compile else models[0]
            self._forward = lambda x_t, t: forward(x_t[0], t[0]).unsqueeze(0)
            return
        from torch.func import functional_call, stack_module_state, vmap

        self.params, self.buffers = stack_module_state(models)
        template = copy.deepcopy(models[0]).to("meta")
        forward = vmap(lambda p, b, x_t, t: functional_call(template, (p, b), (x_t, t)))
        forward = torch.compile(forward) if compile else forward
        self._forward = lambda x_t, t: forward(self.params, self.buffers, x_t, t)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def losses(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """(K,) the mean squared error ‖ε̂(x_t, t) − ε‖² of each model on its own batch (leading dim K)."""
        pred = self._forward(x_t, t)
        if len(self.models) == 1:
            return torch.mean((pred - eps) ** 2).reshape(1)
        return ((pred - eps) ** 2).flatten(1).mean(1)

    def clip(self, max_norm: float) -> None:
        if len(self.models) == 1:
            torch.nn.utils.clip_grad_norm_(self.parameters(), max_norm)
        else:
            _clip_per_model([p.grad for p in self.params.values()], max_norm)

    def stacked(self) -> dict[str, torch.Tensor]:
        """Every parameter, stacked over the K models (a copy, on the CPU)."""
        one = len(self.models) == 1
        return {k: (p.detach().unsqueeze(0) if one else p.detach()).cpu().clone() for k, p in self.params.items()}

    def load(self, stacked: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for k, p in self.params.items():
                p.copy_(stacked[k][0] if len(self.models) == 1 else stacked[k])

    def state_dicts(self, stacked: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """The K models' state dicts (parameters from ``stacked``, buffers as built), in state_dict order."""
        out = []
        for k, model in enumerate(self.models):
            full = {
                **{n: p[k] for n, p in stacked.items()},
                **{n: b[k].detach().cpu() for n, b in self.buffers.items()},
            }
            out.append({name: full[name].clone() for name in model.state_dict()})
        return out

    def finish(self) -> None:
        """Write the trained weights back into the K models (in place) and put them in eval mode."""
        if len(self.models) > 1:
            with torch.no_grad():
                for k, model in enumerate(self.models):
                    for name, p in self.params.items():
                        model.get_parameter(name).copy_(p[k])
        for model in self.models:
            model.eval()


def train_ddpm_models(
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
    """Train K ≥ 1 models of one architecture (in place) on K image sets of one size n, each (n, C, H, W)
    in [−1, 1]: the one training loop, for a single model and for a pack alike (see the module doc).

    Model k draws its own stream from (seed, experiment, keys[k]): its noise bank, the image order of each
    epoch, and one training stream (times, bank picks). Step s uses the batch s mod B of epoch s // B
    (B = ⌈n / batch⌉). Model k's gradient is its own loss's (the loss summed over the models), clipped per
    model, and Adam, being elementwise, updates each model's slice as its own optimizer would: a pack ends
    with the weights of K separate runs up to floating-point reassociation (:class:`_Models`).

    The weights of every model are kept at each of ``cfg.snapshots`` (and at the end): ``snapshots`` of
    each result. With ``checkpoint`` the run (weights, optimizer, step, streams, losses, snapshots so far)
    is saved every ``cfg.checkpoint_every`` steps and at the end, and resumed by a run with the same
    fingerprint (each model's :func:`_fingerprint` and ``context``): a run killed at any point ends with the
    weights of an uninterrupted run (bit for bit on CPU). ``seconds`` is this process's training time."""
    device = torch.device(device)
    K = len(models)
    if K == 0 or len(image_sets) != K or len(keys) != K:
        raise ValueError(f"train_ddpm_models: {K} models, {len(image_sets)} image sets and {len(keys)} keys")
    if len({len(x) for x in image_sets}) != 1:
        sizes = sorted({len(x) for x in image_sets})
        raise ValueError(f"train_ddpm_models: every model of a pack trains on n images of one size, got {sizes}")
    if K > 1 and any(getattr(getattr(m, "config", None), "dropout", 0.0) for m in models):
        raise ValueError("train_ddpm_models: dropout would draw from the global generator; use dropout 0 in a pack")
    for model in models:
        model.to(device).train()
    x_all = torch.stack([x.to(device=device, dtype=_parameter_dtype(models[0])) for x in image_sets])
    n = x_all.shape[1]
    total = cfg.total_steps(n)
    keep = cfg.snapshot_steps(n)
    per_epoch = math.ceil(n / cfg.batch_size)
    schedule = LinearSchedule(cfg.diffusion_steps)
    banks = [training_bank(x_all[k], cfg.m, seed, experiment, keys[k], device, cfg) for k in range(K)]
    gens = [torch_generator(seed, f"{experiment}/train", *keys[k], device=device) for k in range(K)]
    pack = _Models(models, cfg.compile)
    opt = torch.optim.Adam(pack.parameters(), lr=cfg.lr)
    losses = torch.zeros(K, total, dtype=torch.float32, device=device)
    fingerprint = {
        "models": [_fingerprint(cfg, models[k], x_all[k], seed, experiment, keys[k], device) for k in range(K)],
        "context": context,
    }
    path = Path(checkpoint) if checkpoint is not None else None
    start, snapshots = 0, {}
    state = load_checkpoint(path, fingerprint) if path is not None else None
    if state is not None:
        pack.load(state["model"])
        opt.load_state_dict(state["optimizer"])
        for g, g_state in zip(gens, state["generator"]):
            g.set_state(g_state)
        start, snapshots = int(state["step"]), state["snapshots"]
        losses[:, :start] = state["losses"].to(device)
        print(f"resumed {K} model{'s' if K > 1 else ''} from {path} at step {start} of {total}")

    def save(step: int) -> None:
        state = {
            "model": pack.stacked(),
            "optimizer": opt.state_dict(),
            "step": step,
            "generator": [g.get_state() for g in gens],
            "losses": losses[:, :step].cpu(),
            "snapshots": snapshots,
            "fingerprint": fingerprint,
        }
        bad = int(torch.argmin(torch.isfinite(losses[:, :step]).all(0).int())) if step else 0
        what = f"{experiment} n={n}: non-finite loss or weights by step {step} (first non-finite loss at step {bad})"
        save_finite_checkpoint(path, state, what)

    bf16 = cfg.use_bf16(device)
    orders, order_epoch = None, -1
    began = time.perf_counter()
    desc = f"{experiment} n={n}" + (f" x{K}" if K > 1 else "")
    for step in tqdm(range(start, total), initial=start, total=total, desc=desc, mininterval=5, disable=not progress):
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
            per_model = pack.losses(x_t, t, eps)
        opt.zero_grad(set_to_none=True)
        per_model.float().sum().backward()
        if cfg.grad_clip > 0:
            pack.clip(cfg.grad_clip)
        opt.step()
        losses[:, step] = per_model.detach().float()
        if step + 1 in keep:
            snapshots[step + 1] = pack.stacked()
        if path is not None and checkpoint_due(cfg, step + 1, total):
            save(step + 1)
    if path is not None:
        save(total)
    seconds = time.perf_counter() - began
    pack.finish()
    out = losses.cpu().numpy().astype(np.float64)
    if not np.all(np.isfinite(out)):
        bad = int(np.argmin(np.isfinite(out).all(0)))
        raise FloatingPointError(f"{experiment} n={n}: the training loss became non-finite at step {bad}")
    per_step = {s: pack.state_dicts(snapshots[s]) for s in sorted(snapshots)}
    return [
        TrainingResult(
            losses=out[k],
            steps=total,
            resumed_from=start,
            seconds=seconds,
            snapshots={s: dicts[k] for s, dicts in per_step.items()},
        )
        for k in range(K)
    ]


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
    """:func:`train_ddpm_models` of one model on ``images`` with stream key ``key``."""
    return train_ddpm_models([model], [images], cfg, seed, experiment, [key], checkpoint, device, progress, context)[0]


@dataclass
class Weights:
    """The artefact of a training job: the weights of its models (by name) after each saved step, with
    what is needed to rebuild the networks (their UNetConfig) and their noise schedule."""

    unet: UNetConfig
    diffusion_steps: int
    experiment: str  # the stream name the models were trained under (seeding.torch_generator)
    keys: dict[str, list[int]]  # name -> the model's stream key
    steps: list[int]  # the saved optimizer steps (the last one is the end of training)
    states: dict[str, dict[int, dict[str, torch.Tensor]]]  # name -> step -> state dict

    @property
    def names(self) -> list[str]:
        return list(self.states)

    def model(self, name: str, step: int | None = None, device: str | torch.device = "cpu") -> UNet:
        """The U-Net ``name`` with its weights after ``step`` (default: the last), in eval mode."""
        step = self.steps[-1] if step is None else int(step)
        if name not in self.states:
            raise KeyError(f"no model {name!r} in these weights (they hold {', '.join(self.states)})")
        if step not in self.states[name]:
            raise KeyError(f"no weights of {name!r} after step {step} (saved: {self.steps})")
        model = UNet(self.unet).float()
        model.load_state_dict(self.states[name][step])
        return model.to(device).eval()


def save_weights(path: str | Path, weights: Weights) -> None:
    """torch.save of ``weights`` through a temporary file and a rename (float32 state dicts on the CPU)."""
    for name, per_step in weights.states.items():
        if sorted(per_step) != weights.steps:
            raise ValueError(f"weights of {name!r} are saved after steps {sorted(per_step)}, not {weights.steps}")
    payload = {
        "format": 1,
        "unet": asdict(weights.unet),
        "diffusion_steps": weights.diffusion_steps,
        "experiment": weights.experiment,
        "keys": {name: [int(k) for k in key] for name, key in weights.keys.items()},
        "steps": weights.steps,
        "states": weights.states,
    }
    atomic_write(Path(path), lambda tmp: torch.save(payload, tmp))


def load_weights(path: str | Path) -> Weights:
    """The :class:`Weights` written by :func:`save_weights` at ``path``."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path}: not a weights file of memgen.training.save_weights ({err})") from None
    if not isinstance(payload, dict) or payload.get("format") != 1:
        raise ValueError(f"{path}: not a weights file of memgen.training.save_weights")
    unet = {**payload["unet"], "channel_mults": tuple(payload["unet"]["channel_mults"])}
    return Weights(
        UNetConfig(**unet),
        int(payload["diffusion_steps"]),
        payload["experiment"],
        payload["keys"],
        list(payload["steps"]),
        payload["states"],
    )


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
    bank = training_bank(x_all, m, seed, experiment, key, device, cfg)
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
