"""DistributedDataParallel on CPU: 2 gloo processes train a tiny synthetic corpus together."""

import os
import socket

import torch
import torch.multiprocessing as mp

from tiny_corpus import tiny_corpus


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, tmp: str, tests_dir: str):
    import sys

    sys.path.insert(0, tests_dir)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import dataclasses

    import torch.distributed as dist

    from srlive_training.loop import dist_from_env, run_training
    from srlive_training.settings import TRAIN_PRESETS
    from srlive_training.corpus import BarCorpus

    corpus = BarCorpus.load(os.path.join(tmp, "corpus.npz"))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        tc = dataclasses.replace(TRAIN_PRESETS["live"], batch_size=4, val_every=4, log_every=1, val_batches=1,
                                 val_answers=8, seed=7)
        res = run_training(corpus, tc, os.path.join(tmp, "out"), steps=4, dist=dist_from_env(), progress=False)
        torch.save({k: v.detach().clone() for k, v in res.model.state_dict().items()},
                   os.path.join(tmp, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_train_in_step_and_only_rank_0_writes(tmp_path):
    c = tiny_corpus(n_tunes=12, bars=8, seed=2)
    c.split[:] = 0
    c.split[-2:] = 1
    c.save(tmp_path / "corpus.npz")
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path), os.path.dirname(__file__)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt")
    b = torch.load(tmp_path / "rank1.pt")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)  # DDP kept the replicas identical
    from srlive_training.config import get_config
    from srlive_training.model import VAEGAN

    init_seeded = VAEGAN(get_config("live"))
    moved = [k for k in a if k in init_seeded.state_dict() and not torch.equal(a[k], init_seeded.state_dict()[k])]
    assert moved  # and they trained
    out = tmp_path / "out"
    ckpt = torch.load(out / "last.pt", weights_only=True)  # plain data only
    assert ckpt["step"] == 4 and ckpt["world_size"] == 2 and len(ckpt["rng"]["noise"]) == 2
    # only rank 0 writes: one header, one row per step (log_every 1), no duplicates; validated at 4
    lines = (out / "train_log.csv").read_text().splitlines()
    assert lines[0].startswith("step,") and [l.split(",")[0] for l in lines[1:]] == ["1", "2", "3", "4"]
    assert (out / "best.pt").exists() and (out / "loss_curves.png").exists()
