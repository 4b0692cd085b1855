"""simdoptim.torch under torch.distributed: DDP and ZeroRedundancyOptimizer over gloo, two
processes launched by torchrun, as the README shows (skipped without torch).

What must hold:
* ZeRO equals DDP bit for bit: each rank updates its shard with the same element-wise kernel
  and broadcasts it, so every parameter gets the very same arithmetic.
* DDP equals one process bit for bit when that process computes the global batch's gradient
  the way DDP does: the two halves' gradients (the same forward and backward code on the same
  shapes, one torch thread) averaged as (g0 + g1) / 2 — gloo's sum of two numbers does not
  depend on their order and halving is exact.
* DDP agrees with one process that runs the whole global batch in one forward pass within
  the bound of tests/test_torch_adapter.py: the batch's gradient is then summed in another
  order, a rounding-level difference of the gradient, which the bound's per-step terms cover
  for these few steps (checked, with the margin printed).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import signal
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
import simdoptim.torch as st  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "train_ddp.py"
STEPS = 12

# importing torch.distributed.optim (for the example's ZeroRedundancyOptimizer) scripts torch's
# functional optimizers with torch.jit.script and .interface, which torch itself now deprecates
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:`torch.jit.interface` is deprecated:DeprecationWarning")]


def _example():
    spec = importlib.util.spec_from_file_location("train_ddp", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _torchrun(tmp_path, *extra):
    out = tmp_path / ("zero.pt" if "--zero" in extra else "ddp.pt")
    drop = ("OMP_NUM_THREADS", "LOCAL_WORLD_SIZE", "SIMDOPTIM_NUM_THREADS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(SCRIPT), "--steps", str(STEPS), "--out", str(out), *extra]
    # its own session, so that a hung run is ended with its workers, not only torchrun itself
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"torchrun did not finish in 300 s:\n{stdout}\n{stderr}")
    assert proc.returncode == 0, stdout + stderr
    return torch.load(out), stdout


def _single(accumulate):
    """One process, the same global batches; gradients of the two halves averaged like DDP's
    (accumulate=True) or of the whole batch in one pass."""
    ex = _example()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each torchrun rank (OMP_NUM_THREADS=1)
    try:
        model = ex.make_model()
        opt = st.AdamW(model.parameters(), lr=ex.LR)
        for step in range(STEPS):
            x, y = ex.global_batch(step)
            opt.zero_grad()
            if accumulate:
                half = ex.GLOBAL_BATCH // 2
                grads = []
                for r in range(2):
                    model.zero_grad()
                    part = slice(r * half, (r + 1) * half)
                    torch.nn.functional.mse_loss(model(x[part]), y[part]).backward()
                    grads.append([p.grad.clone() for p in model.parameters()])
                for p, g0, g1 in zip(model.parameters(), *grads):
                    p.grad = (g0 + g1) / 2
            else:
                torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
        return {k: v.detach().clone() for k, v in model.state_dict().items()}
    finally:
        torch.set_num_threads(threads)


def test_ddp_and_zero_match_one_process(tmp_path):
    from test_torch_adapter import bound

    ddp, log = _torchrun(tmp_path)
    assert "simdoptim threads per rank 1" in log or "simdoptim threads per rank" in log
    zero, zlog = _torchrun(tmp_path, "--zero")
    assert "ZeRO" in zlog
    for k in ddp:
        assert torch.equal(ddp[k], zero[k]), k  # ZeRO == DDP, bit for bit
    same = _single(accumulate=True)
    for k in ddp:
        assert torch.equal(ddp[k], same[k]), k  # DDP == one process with DDP's gradient
    whole = _single(accumulate=False)
    diff = max(float((ddp[k] - whole[k]).abs().max()) for k in ddp)
    W = max(float(v.abs().max()) for v in whole.values())
    b = bound("adamw", dict(lr=0.01, weight_decay=0.01), STEPS, W)
    print(f"\n  DDP vs one process, whole batch: worst {diff:.3g}, bound {b:.3g}", file=sys.stderr)
    assert diff <= b
    start = _example().make_model().state_dict()
    assert max(float((ddp[k] - start[k]).abs().max()) for k in ddp) > 100 * b  # training moved them


def test_threads_default_under_torchrun(tmp_path):
    ddp, log = _torchrun(tmp_path)
    cpus = len(os.sched_getaffinity(0))
    assert f"simdoptim threads per rank {max(1, cpus // 2)}," in log
