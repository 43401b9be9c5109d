"""Multi-process data parallelism for the fine-tune step: one process per device, launched by torchrun.

torchrun (and the Kubeflow Trainer/PyTorchJob pods running it) sets WORLD_SIZE, RANK and LOCAL_RANK plus
the rendezvous (MASTER_ADDR/MASTER_PORT). Each rank then holds a full copy of the model on its LOCAL_RANK
device and trains the LoRA weights under DistributedDataParallel: for QLoRA that is the well-supported
path (the 4-bit base is frozen, so only the small LoRA gradients cross the network). Without WORLD_SIZE > 1
every helper here is a no-op, so the single-process run is unchanged.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from doc2slm_common.errors import InvalidInput

log = logging.getLogger(__name__)
# A rank waits this long at a barrier or all-reduce (rank 0 writing an adapter to S3 included).
_COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=60)


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the job; (1, 0, 0) when it runs alone."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE_PROCESS = Ranks()


def ranks_from_env(environ: dict[str, str] | None = None) -> Ranks:
    """Read the launcher's WORLD_SIZE / RANK / LOCAL_RANK, refusing values that cannot be right."""
    env = dict(os.environ if environ is None else environ)
    try:
        world = int(env.get("WORLD_SIZE", "1") or "1")
        rank = int(env.get("RANK", "0") or "0")
        local = int(env.get("LOCAL_RANK", str(rank)) or "0")
    except ValueError as error:
        raise InvalidInput(f"WORLD_SIZE, RANK and LOCAL_RANK must be integers: {error}") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise InvalidInput(f"inconsistent launcher variables WORLD_SIZE={world} RANK={rank} LOCAL_RANK={local}")
    return Ranks(world, rank, local)


def rank_device(base: torch.device, ranks: Ranks) -> torch.device:
    """The rank's own device: cuda:LOCAL_RANK under a multi-process CUDA launch, else `base`."""
    if base.type != "cuda" or not ranks.distributed:
        return base
    if ranks.local_rank >= torch.cuda.device_count():
        raise InvalidInput(f"LOCAL_RANK={ranks.local_rank} but only {torch.cuda.device_count()} CUDA "
                           "device(s) are visible: launch at most one process per GPU")
    torch.cuda.set_device(ranks.local_rank)
    return torch.device("cuda", ranks.local_rank)


@contextlib.contextmanager
def process_group(ranks: Ranks, device: torch.device) -> Iterator[None]:
    """torch.distributed for the duration of a run (nccl on CUDA, gloo on CPU); nothing when alone.

    A group the caller already set up (e.g. `accelerate launch`) is used as is and left open.
    """
    if not ranks.distributed or dist.is_initialized():
        yield
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    options: dict[str, Any] = {"device_id": device} if device.type == "cuda" else {}
    dist.init_process_group(backend, rank=ranks.rank, world_size=ranks.world_size,
                            timeout=_COLLECTIVE_TIMEOUT, **options)
    log.info("data-parallel rank %d of %d on %s (%s)", ranks.rank, ranks.world_size, device, backend)
    try:
        yield
    finally:
        dist.destroy_process_group()


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        dist.barrier()


def sum_across(values: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """Element-wise sum over all ranks (returned on every rank); the tensor itself when alone."""
    if ranks.distributed:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def from_main(value: Any, ranks: Ranks) -> Any:
    """Rank 0's value on every rank (a picklable object)."""
    if not ranks.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(value: Any, ranks: Ranks) -> list[Any]:
    """Every rank's value, in rank order, on every rank."""
    if not ranks.distributed:
        return [value]
    gathered: list[Any] = [None] * ranks.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def wrap_data_parallel(model: torch.nn.Module, device: torch.device, ranks: Ranks) -> torch.nn.Module:
    """DistributedDataParallel over the trainable (LoRA) weights; the model itself when alone.

    Frozen weights and buffers are left out of DDP's broadcasts and bucketing: every rank loaded the same
    base from the same files (the rotary tables are computed from the config), and the 4-bit base would
    otherwise be shipped across the network for nothing. The LoRA weights are broadcast from rank 0, so all
    ranks start (or resume) from rank 0's copy.
    """
    if not ranks.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    frozen = [name for name, p in model.named_parameters() if not p.requires_grad]
    frozen += [name for name, _buffer in model.named_buffers()]
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, frozen)
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)
