"""The training loop: the loss falls on a tiny set, a run killed with SIGKILL resumes from its
checkpoint to the same weights as an uninterrupted run, stale checkpoints are not resumed, the
evaluation loss of the exact ε-predictor is the irreducible error."""

import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from memgen.diffusion import LinearSchedule
from memgen.training import (
    TrainingConfig,
    Weights,
    build_unet,
    load_weights,
    mean_eps_loss,
    save_weights,
    train_ddpm,
    train_ddpm_models,
)
from memgen.unet import UNetConfig

TINY = UNetConfig(
    image_size=8, base_channels=16, channel_mults=(1, 2), num_res_blocks=1, attention_levels=1, groups=8, heads=2
)

# A training run in a fresh process: tiny U-Net, 16 images; writes the final weights and those kept after
# steps 5 (in the first checkpoint) and 75 to argv[2].
SCRIPT = """
import sys, torch
torch.set_num_threads(1)
from memgen.training import TrainingConfig, build_unet, train_ddpm
from memgen.unet import UNetConfig
cfg = UNetConfig(image_size=8, base_channels=16, channel_mults=(1, 2), num_res_blocks=1, attention_levels=1, groups=8, heads=2)
images = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
model = build_unet(cfg, 7, "test", 1)
ckpt = None if sys.argv[1] == "none" else sys.argv[1]
res = train_ddpm(model, images, TrainingConfig(batch_size=4, lr=1e-3, steps=int(sys.argv[3]), m=3, checkpoint_every=5,
                 snapshots=(5, 75)), 7, "test", 1, checkpoint=ckpt, progress=False)
torch.save([model.state_dict(), *(res.snapshots[s] for s in (5, 75))], sys.argv[2])
"""

# The same for a pack of three models (train_ddpm_models); writes their three state dicts to argv[2].
PACKED_SCRIPT = """
import sys, torch
torch.set_num_threads(1)
from memgen.training import TrainingConfig, build_unet, train_ddpm_models
from memgen.unet import UNetConfig
cfg = UNetConfig(image_size=8, base_channels=16, channel_mults=(1, 2), num_res_blocks=1, attention_levels=1, groups=8, heads=2)
sets = [torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(k)) * 2 - 1 for k in range(3)]
models = [build_unet(cfg, 7, "test", 1, k) for k in range(3)]
ckpt = None if sys.argv[1] == "none" else sys.argv[1]
results = train_ddpm_models(models, sets, TrainingConfig(batch_size=4, lr=1e-3, steps=int(sys.argv[3]), m=3,
                            checkpoint_every=5, snapshots=(5, 75)), 7, "test", [(1, k) for k in range(3)], checkpoint=ckpt,
                            progress=False)
torch.save([m.state_dict() for m in models] + [r.snapshots[s] for r in results for s in (5, 75)], sys.argv[2])
"""


def _run(args, script=SCRIPT, **kw):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def _images(n, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_loss_decreases_on_a_tiny_set():
    torch.manual_seed(0)
    model = build_unet(TINY, 1, "test", 0)
    res = train_ddpm(
        model,
        _images(16),
        TrainingConfig(batch_size=8, lr=2e-3, steps=150, m=1, diffusion_steps=10),
        1,
        "test",
        0,
        progress=False,
    )
    first, last = res.losses[:20].mean(), res.losses[-20:].mean()
    print(f"loss: first 20 steps {first:.3f}, last 20 steps {last:.3f}")
    assert res.steps == 150 and res.resumed_from == 0
    assert last < 0.6 * first


def test_epochs_and_steps():
    cfg = TrainingConfig(batch_size=128, epochs=20)
    assert cfg.total_steps(10) == 20 and cfg.total_steps(1000) == 160
    assert TrainingConfig(epochs=20, steps=7).total_steps(1000) == 7
    with pytest.raises(ValueError, match="precision"):
        TrainingConfig(precision="fp8").use_bf16(torch.device("cpu"))


@pytest.mark.slow
@pytest.mark.parametrize("script", [SCRIPT, PACKED_SCRIPT], ids=["single", "packed"])
def test_sigkill_mid_run_then_rerun_gives_the_uninterrupted_weights(tmp_path, script):
    steps = 150
    ref = _run(["none", tmp_path / "ref.pt", steps], script)
    assert ref.wait(timeout=300) == 0, ref.stdout.read()
    ckpt = tmp_path / "run.ckpt"
    victim = _run([ckpt, tmp_path / "run.pt", steps], script)
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and victim.poll() is None:
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert ckpt.exists() and not (tmp_path / "run.pt").exists()
    again = _run([ckpt, tmp_path / "run.pt", steps], script)
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 0, out
    resumed = [line for line in out.splitlines() if line.startswith("resumed ")]
    assert resumed, out
    step = int(resumed[0].split(" at step ")[1].split()[0])
    print(resumed[0])
    assert 0 < step < steps
    a, b = torch.load(tmp_path / "ref.pt"), torch.load(tmp_path / "run.pt")
    assert len(a) == len(b) == (3 if script is SCRIPT else 9)  # the final weights and the snapshots
    for x, y in zip(a, b):
        assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.mark.parametrize("m", [2, math.inf])
def test_packed_training_equals_separate_runs(m):
    """Four models trained as one pack end with the weights and losses of four separate train_ddpm runs with the
    same seeds and keys: in float64 to 1e-10 (only the order of floating-point sums differs), with gradient
    clipping active (max norm 0.05, below the gradients' norm) so that it is checked per model."""
    cfg = TrainingConfig(batch_size=5, lr=1e-3, steps=25, m=m, diffusion_steps=10, checkpoint_every=0, grad_clip=0.05)
    sets = [_images(12, seed=k) for k in range(4)]
    keys = [(12, k) for k in range(4)]
    separate = []
    for k in range(4):
        model = build_unet(TINY, 3, "pack", *keys[k]).double()
        separate.append((model, train_ddpm(model, sets[k], cfg, 3, "pack", *keys[k], progress=False)))
    packed = [build_unet(TINY, 3, "pack", *keys[k]).double() for k in range(4)]
    results = train_ddpm_models(packed, sets, cfg, 3, "pack", keys, progress=False)
    for (model, res), other, pres in zip(separate, packed, results):
        assert res.steps == pres.steps == 25
        assert abs(res.losses - pres.losses).max() < 1e-6  # losses are recorded in float32
        for (name, p), q in zip(model.named_parameters(), other.parameters()):
            assert (p - q).abs().max() < 1e-10, name
    # the models differ from one another (different data, keys, initial weights)
    assert (packed[0].conv_in.weight - packed[1].conv_in.weight).abs().max() > 1e-3


def test_packed_training_refuses_mixed_sizes_and_dropout():
    from dataclasses import replace

    cfg = TrainingConfig(batch_size=4, steps=1, checkpoint_every=0)
    models = [build_unet(TINY, 1, "pack", k) for k in range(2)]
    with pytest.raises(ValueError, match="one size"):
        train_ddpm_models(models, [_images(8), _images(9)], cfg, 1, "pack", [(0,), (1,)], progress=False)
    dropped = [build_unet(replace(TINY, dropout=0.1), 1, "pack", k) for k in range(2)]
    with pytest.raises(ValueError, match="dropout"):
        train_ddpm_models(dropped, [_images(8), _images(8)], cfg, 1, "pack", [(0,), (1,)], progress=False)


def test_a_checkpoint_of_another_configuration_is_not_resumed(tmp_path, capsys):
    ckpt = tmp_path / "c.ckpt"
    images = _images(8)
    train_ddpm(
        build_unet(TINY, 2, "test", 0),
        images,
        TrainingConfig(batch_size=4, steps=6, m=2, checkpoint_every=2),
        2,
        "test",
        0,
        checkpoint=ckpt,
        progress=False,
    )
    fresh = build_unet(TINY, 2, "test", 0)
    res = train_ddpm(
        fresh,
        images,
        TrainingConfig(batch_size=4, steps=6, m=5, checkpoint_every=2),
        2,
        "test",
        0,
        checkpoint=ckpt,
        progress=False,
    )
    assert res.resumed_from == 0 and "another configuration" in capsys.readouterr().out
    ckpt.write_bytes(b"not a checkpoint")
    res = train_ddpm(
        build_unet(TINY, 2, "test", 0),
        images,
        TrainingConfig(batch_size=4, steps=6, m=5),
        2,
        "test",
        0,
        checkpoint=ckpt,
        progress=False,
    )
    assert res.resumed_from == 0 and "unreadable" in capsys.readouterr().out


def _train(images, ckpt, **kw):
    return train_ddpm(
        build_unet(TINY, 2, "test", 0),
        images,
        TrainingConfig(batch_size=4, steps=6, m=2, checkpoint_every=2),
        2,
        "test",
        0,
        checkpoint=ckpt,
        progress=False,
        **kw,
    )


def test_a_checkpoint_of_other_data_code_or_context_is_not_resumed(tmp_path, capsys):
    """The fingerprint covers the data (here: other pixel values of the same shape, as after a change of
    μ), the architecture and the caller's context (the experiment's config slice)."""
    ckpt = tmp_path / "c.ckpt"
    _train(_images(8), ckpt)
    state = torch.load(ckpt, weights_only=False)
    state["step"], state["losses"] = 2, state["losses"][:, :2]  # as if killed after the first checkpoint
    torch.save(state, ckpt)
    assert _train(_images(8), ckpt).resumed_from == 2  # same run: resumed
    for other in (dict(images=_images(8) * 0.5), dict(context={"mu": 0.3})):
        torch.save(state, ckpt)
        res = _train(other.get("images", _images(8)), ckpt, context=other.get("context"))
        assert res.resumed_from == 0 and "another configuration" in capsys.readouterr().out
    torch.save(state, ckpt)
    heads = UNetConfig(**{**TINY.__dict__, "heads": 4})  # same parameter shapes, other attention
    res = train_ddpm(
        build_unet(heads, 2, "test", 0),
        _images(8),
        TrainingConfig(batch_size=4, steps=6, m=2, checkpoint_every=2),
        2,
        "test",
        0,
        checkpoint=ckpt,
        progress=False,
    )
    assert res.resumed_from == 0 and "another configuration" in capsys.readouterr().out


def test_non_finite_checkpoints_are_never_written_nor_resumed(tmp_path, capsys):
    """NaN data: the run fails at its first checkpoint and leaves none (a rerun with valid data then
    trains from scratch, not from a poisoned state); a checkpoint whose weights hold a NaN is discarded."""
    ckpt = tmp_path / "c.ckpt"
    with pytest.raises(FloatingPointError, match="no checkpoint written"):
        _train(_images(8) * float("nan"), ckpt)
    assert not ckpt.exists()
    assert _train(_images(8), ckpt).resumed_from == 0
    state = torch.load(ckpt, weights_only=False)
    state["step"], state["losses"] = 2, state["losses"][:, :2]
    name = next(k for k, v in state["model"].items() if torch.is_floating_point(v))
    state["model"][name].view(-1)[0] = float("nan")
    torch.save(state, ckpt)
    res = _train(_images(8), ckpt)
    assert res.resumed_from == 0 and "non-finite" in capsys.readouterr().out


def test_build_unet_is_deterministic_in_its_key():
    a, b, c = (build_unet(TINY, 3, "test", k) for k in (0, 0, 1))
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_mean_eps_loss_of_the_exact_predictor_is_the_irreducible_error():
    """x_0 ~ N(μ, s²): the exact ε̂ has loss mean_t ᾱ_t s²/(ᾱ_t s² + 1 − ᾱ_t) per coordinate."""
    mu, s = 0.2, 0.3
    sched = LinearSchedule(10)
    ab = sched.alpha_bars().float()

    def oracle(x, t):
        a = ab[t].reshape(-1, 1, 1, 1)
        return (1 - a).sqrt() * (x - a.sqrt() * mu) / (a * s * s + 1 - a)

    x0 = mu + s * torch.randn(20_000, 1, 2, 2, generator=torch.Generator().manual_seed(4))
    loss = mean_eps_loss(
        oracle, x0, math.inf, TrainingConfig(batch_size=5000, diffusion_steps=10), 0, "test", repeats=2
    )
    assert loss == pytest.approx(float(torch.mean(ab * s * s / (ab * s * s + 1 - ab))), rel=0.03)


def test_snapshots_are_the_weights_of_shorter_runs(tmp_path):
    """The weights kept after step 2 and 4 of a 6-step run are those of separate 2- and 4-step runs (bit for
    bit: the stream of a step does not depend on the run's length); the last is the trained model. (A
    killed run resumes with its snapshots: test_sigkill_mid_run_then_rerun_gives_the_uninterrupted_weights.)"""
    images = _images(8)
    cfg = TrainingConfig(batch_size=4, steps=6, m=2, checkpoint_every=4, snapshots=(2, 4))
    model = build_unet(TINY, 2, "test", 0)
    res = train_ddpm(model, images, cfg, 2, "test", 0, checkpoint=tmp_path / "c.ckpt", progress=False)
    assert sorted(res.snapshots) == [2, 4, 6] == cfg.snapshot_steps(8)
    assert all(torch.equal(res.snapshots[6][k], v) for k, v in model.state_dict().items())
    for steps in (2, 4):
        short = build_unet(TINY, 2, "test", 0)
        train_ddpm(short, images, TrainingConfig(batch_size=4, steps=steps, m=2), 2, "test", 0, progress=False)
        assert all(torch.equal(res.snapshots[steps][k], v) for k, v in short.state_dict().items()), steps
        assert not torch.equal(res.snapshots[steps]["conv_in.weight"], res.snapshots[6]["conv_in.weight"])


def test_weights_round_trip_and_name_what_they_lack(tmp_path):
    cfg = TrainingConfig(batch_size=4, steps=3, m=2, checkpoint_every=0, snapshots=(1,))
    models = [build_unet(TINY, 2, "test", k) for k in range(2)]
    results = train_ddpm_models(models, [_images(8, k) for k in range(2)], cfg, 2, "test", [(0,), (1,)], progress=False)
    states = {f"m{k}": r.snapshots for k, r in enumerate(results)}
    weights = Weights(TINY, cfg.diffusion_steps, "test", {"m0": [0], "m1": [1]}, [1, 3], states)
    save_weights(tmp_path / "w.pt", weights)
    back = load_weights(tmp_path / "w.pt")
    assert back.unet == TINY and back.steps == [1, 3] and back.names == ["m0", "m1"] and back.keys["m1"] == [1]
    x, t = _images(2).float(), torch.tensor([3, 7])
    with torch.no_grad():
        assert torch.equal(back.model("m1")(x, t), models[1].eval()(x, t))
    with pytest.raises(KeyError, match="after step 2"):
        back.model("m0", 2)
    with pytest.raises(KeyError, match="no model 'm2'"):
        back.model("m2")
    (tmp_path / "bad.pt").write_bytes(b"not weights")
    with pytest.raises(ValueError, match="bad.pt: not a weights file"):
        load_weights(tmp_path / "bad.pt")


def test_a_training_job_runs_with_its_training_slice():
    """The training slice carries every setting that changes the weights into the TrainingConfig: the
    arithmetic (precision, compile), the length (steps raised to steps_per_image · n), the saved steps,
    the noise-bank protocol; the checkpoint interval is the job's own."""
    from memgen.planning import snapshot_steps, training_slice
    from memgen.unet_setup import training_config

    stage = {
        "shared": {"precision": "bf16", "compile": True, "pack": 2, "checkpoint_every": 9, "checkpoint_dir": "x"},
        "experiment": {
            "batch_size": 8,
            "lr": 1e-3,
            "steps": 100,
            "steps_per_image": 5,
            "diffusion_steps": 20,
            "snapshots": {"min": 10, "num": 3},
            "noise_bank": "pairs",
            "samples": 7,
        },
    }
    ts = training_slice(stage)
    cfg = training_config(
        ts["experiment"], {**ts["shared"], "checkpoint_every": 9}, 10.0, 32, snapshot_steps(ts["experiment"], 32)
    )
    assert (cfg.precision, cfg.compile, cfg.steps, cfg.noise_bank, cfg.m) == ("bf16", True, 160, "pairs", 10.0)
    assert cfg.snapshot_steps(32) == [10, 40, 160] and cfg.checkpoint_every == 9 and cfg.batch_size == 8
