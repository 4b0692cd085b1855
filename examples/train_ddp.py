"""Data-parallel training on CPUs with simdoptim.torch: DistributedDataParallel, optionally with
ZeroRedundancyOptimizer (each rank keeps and updates only its shard of the optimizer state).

    torchrun --nproc_per_node 2 examples/train_ddp.py            # DDP, simdoptim.torch.AdamW
    torchrun --nproc_per_node 2 examples/train_ddp.py --zero     # ZeRO stage 1 over DDP

Every rank takes its slice of each global batch; gradients are averaged over the gloo backend;
each rank's optimizer step uses simdoptim.torch.default_num_threads() threads (the CPUs divided
by the local ranks: torchrun sets OMP_NUM_THREADS=1 for torch's own pool, which is idle while
the optimizer steps). Rank 0 prints the loss and, with --out, saves the final parameters.
"""

from __future__ import annotations

import argparse
import gc

import torch
import torch.distributed as dist
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel

import simdoptim
import simdoptim.torch as st

GLOBAL_BATCH = 64
LR = 0.01


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
                               torch.nn.Linear(64, 4))


def global_batch(step):
    """The global batch of a step: the same on every rank (seeded by the step)."""
    g = torch.Generator().manual_seed(1000 + step)
    x = torch.randn(GLOBAL_BATCH, 16, generator=g)
    y = torch.randn(GLOBAL_BATCH, 4, generator=g)
    return x, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zero", action="store_true", help="shard the optimizer state (ZeroRedundancyOptimizer)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", help="rank 0 saves the final parameters here (torch.save)")
    args = parser.parse_args(argv)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    model = DistributedDataParallel(make_model())
    if args.zero:
        opt = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=st.AdamW, lr=LR)
    else:
        opt = st.AdamW(model.parameters(), lr=LR)
    for step in range(args.steps):
        x, y = global_batch(step)
        share = GLOBAL_BATCH // world
        xs, ys = x[rank * share:(rank + 1) * share], y[rank * share:(rank + 1) * share]
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xs), ys)
        loss.backward()
        opt.step()
        if rank == 0 and (step % 10 == 0 or step == args.steps - 1):
            print(f"step {step:3d}  loss {loss.item():.5f}", flush=True)
    if rank == 0:
        print(f"ranks {world}, optimizer {'ZeRO(simdoptim.torch.AdamW)' if args.zero else 'simdoptim.torch.AdamW'}, "
              f"simdoptim threads per rank {simdoptim.get_num_threads()}, torch threads {torch.get_num_threads()}")
        if args.out:
            torch.save({k: v.detach().clone() for k, v in model.module.state_dict().items()}, args.out)
    # Drop DDP (its reducer holds the process group) before the group itself: a gloo group
    # destroyed from the reducer's destructor, with the GIL held, can deadlock at exit.
    dist.barrier()
    del opt, model
    gc.collect()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
