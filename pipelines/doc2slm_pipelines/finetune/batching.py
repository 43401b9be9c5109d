"""Micro-batches from tokenized examples: packed rows or length-grouped padded batches.

Both orders depend only on (seed, epoch), so a resumed run rebuilds the very same batches and can skip
to its saved position instead of storing the data order itself. Packed rows carry position ids that
restart at 0 for each example and no 2-D attention mask: transformers then builds a block-diagonal causal
mask, so packed examples never attend to each other.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .contrast import SLOTS, answer_slots
from .data import IGNORE_INDEX, TokenizedExample

# How many open rows first-fit packing searches; bounded so packing 10^5 examples stays linear.
_OPEN_ROWS_SEARCHED = 64
# Length grouping sorts within windows of this many batches, keeping the order mostly random.
_GROUP_WINDOW_BATCHES = 32


@dataclass
class MicroBatch:
    tensors: dict[str, torch.Tensor]
    real_tokens: int  # tokens that are not padding
    label_tokens: int  # positions that contribute to the loss (after the causal shift)
    padded_tokens: int  # rows x columns, padding included
    contrast_pairs: int = 0  # examples carrying a wrong-question copy of their answer (contrast.py)


def pack_rows(lengths: Sequence[int], order: Sequence[int], max_length: int) -> list[list[int]]:
    """First-fit packing of examples (in the given order) into rows of at most max_length tokens."""
    rows: list[list[int]] = []
    room: list[int] = []
    for index in order:
        need = lengths[index]
        start = max(0, len(rows) - _OPEN_ROWS_SEARCHED)
        target = next((r for r in range(start, len(rows)) if room[r] >= need), None)
        if target is None:
            rows.append([index])
            room.append(max_length - need)
        else:
            rows[target].append(index)
            room[target] -= need
    return rows


def fit_row_count(rows: list[list[int]], lengths: Sequence[int], low: int, high: int,
                  max_length: int) -> list[list[int]]:
    """`rows` made between `low` and `high` rows where possible: with fewer, the row holding the most
    examples gives its last one a row of its own; with more, the lightest row's examples move into the
    rows with room (fullest first that fits) when all of them find one, else the next lightest row's.

    Why: packing another epoch's order gives a few rows more or fewer than the first epoch's, but a step
    is addressed by (epoch, position) with the first epoch's number of micro-batches (a resumed run, the
    validation's epoch boundaries), so every epoch must fill that many."""
    rows = [list(row) for row in rows]
    while len(rows) < low:
        widest = max(range(len(rows)), key=lambda r: len(rows[r]))
        if len(rows[widest]) < 2:
            break  # one example a row already: there are no more rows to make
        rows.append([rows[widest].pop()])
    while len(rows) > high:
        used = [sum(lengths[i] for i in row) for row in rows]
        # The lightest rows only (bounded like first-fit's search, so a large corpus stays fast).
        for candidate in sorted(range(len(rows)), key=used.__getitem__)[:_OPEN_ROWS_SEARCHED]:
            moves = _spread(rows, used, candidate, lengths, max_length)
            if moves is not None:
                for example, target in moves:
                    rows[target].append(example)
                del rows[candidate]
                break
        else:
            break  # no row can be spread over the others: the last micro-batch takes the extra rows
    return rows


def _spread(rows: list[list[int]], used: list[int], source: int, lengths: Sequence[int],
            max_length: int) -> list[tuple[int, int]] | None:
    """Where each example of row `source` would go among the other rows (the fullest that fits), or None
    if one of them fits nowhere."""
    room = list(used)
    moves: list[tuple[int, int]] = []
    for example in sorted(rows[source], key=lambda i: -lengths[i]):
        fits = [r for r in range(len(rows)) if r != source and room[r] + lengths[example] <= max_length]
        if not fits:
            return None
        target = max(fits, key=room.__getitem__)
        room[target] += lengths[example]
        moves.append((example, target))
    return moves


def plan_epoch(examples: Sequence[TokenizedExample], *, batch_size: int, max_length: int, packing: bool,
               seed: int, epoch: int, rows_per_epoch: int = 0) -> list[list[list[int]]]:
    """The epoch's micro-batches as lists of rows, each row a list of example indices. Packed, the rows
    are made `rows_per_epoch` (when given) so that every epoch has as many micro-batches as the first."""
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(examples)))
    rng.shuffle(order)
    lengths = [len(e.input_ids) for e in examples]
    if packing:
        rows = pack_rows(lengths, order, max_length)
        if not rows:
            return []
        # As many micro-batches of at most batch_size rows as the first epoch had (for it, a no-op).
        count = -(-(rows_per_epoch or len(rows)) // batch_size)
        rows = fit_row_count(rows, lengths, (count - 1) * batch_size + 1, count * batch_size, max_length)
        rng.shuffle(rows)
        last = batch_size * (count - 1)  # the last micro-batch takes any rows that could not be merged away
        return [*(rows[i: i + batch_size] for i in range(0, last, batch_size)), rows[last:]]
    window = batch_size * _GROUP_WINDOW_BATCHES
    batches: list[list[list[int]]] = []
    for start in range(0, len(order), window):
        group = sorted(order[start: start + window], key=lambda i: lengths[i])
        batches.extend([[i] for i in group[j: j + batch_size]] for j in range(0, len(group), batch_size))
    rng.shuffle(batches)
    return batches


def collate(examples: Sequence[TokenizedExample], rows: list[list[int]], pad_token_id: int,
            packing: bool) -> MicroBatch:
    """Tensors for one micro-batch; padding is on the right and never contributes to the loss."""
    width = max(sum(len(examples[i].input_ids) for i in row) for row in rows)
    ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        cursor = 0
        for i in row:
            example = examples[i]
            n = len(example.input_ids)
            ids[r, cursor: cursor + n] = torch.tensor(example.input_ids)
            row_labels = torch.tensor(example.labels)
            row_labels[0] = IGNORE_INDEX  # never predict an example's first token from its neighbour
            labels[r, cursor: cursor + n] = row_labels
            positions[r, cursor: cursor + n] = torch.arange(n)
            if example.contrast_start:
                # The wrong-question copy starts its own block: it must not see the right question.
                positions[r, cursor + example.contrast_start: cursor + n] = torch.arange(n - example.contrast_start)
            mask[r, cursor: cursor + n] = 1
            cursor += n
        # Padding gets its own position run, so in packed mode it forms a separate block of its own.
        positions[r, cursor:] = torch.arange(width - cursor)
    tensors = {"input_ids": ids, "labels": labels}
    if packing:
        tensors["position_ids"] = positions
    else:
        tensors["attention_mask"] = mask
    pairs = 0
    if any(examples[i].contrast_start for row in rows for i in row):  # only runs with the question contrast
        tensors[SLOTS], pairs = answer_slots(examples, rows, width)
    real = int(mask.sum())
    label_tokens = int((labels[:, 1:] != IGNORE_INDEX).sum())
    return MicroBatch(tensors, real, label_tokens, ids.numel(), pairs)


class BatchStream:
    """The run's micro-batches in order, addressable by a global index so a resume can skip ahead."""

    def __init__(self, examples: Sequence[TokenizedExample], *, batch_size: int, max_length: int,
                 packing: bool, seed: int, pad_token_id: int) -> None:
        self.examples = examples
        self.batch_size, self.max_length, self.packing = batch_size, max_length, packing
        self.seed, self.pad_token_id = seed, pad_token_id
        self._epoch = -1
        self._plan: list[list[list[int]]] = []
        self.rows_per_epoch = 0  # the first epoch's packed rows; every later epoch is made to match
        first = self._plan_for(0)
        self.rows_per_epoch = sum(len(rows) for rows in first) if packing else 0
        self.per_epoch = len(first)

    def _plan_for(self, epoch: int) -> list[list[list[int]]]:
        if epoch != self._epoch:
            self._plan = plan_epoch(self.examples, batch_size=self.batch_size, max_length=self.max_length,
                                    packing=self.packing, seed=self.seed, epoch=epoch,
                                    rows_per_epoch=self.rows_per_epoch)
            self._epoch = epoch
        return self._plan

    def micro_batch(self, global_index: int) -> MicroBatch:
        epoch, position = divmod(global_index, self.per_epoch)
        rows = self._plan_for(epoch)[position]
        return collate(self.examples, rows, self.pad_token_id, self.packing)

    def total_steps(self, epochs: float, max_steps: int, grad_accumulation: int) -> int:
        if max_steps > 0:
            return max_steps
        return max(1, math.ceil(epochs * self.per_epoch / grad_accumulation))


def padding_waste(stream: BatchStream, epoch: int = 0) -> float:
    """Share of the computed token positions that are padding, over one epoch."""
    plan = plan_epoch(stream.examples, batch_size=stream.batch_size, max_length=stream.max_length,
                      packing=stream.packing, seed=stream.seed, epoch=epoch)
    real = padded = 0
    for rows in plan:
        width = max(sum(len(stream.examples[i].input_ids) for i in row) for row in rows)
        padded += width * len(rows)
        real += sum(len(stream.examples[i].input_ids) for row in rows for i in row)
    return 1.0 - real / padded if padded else 0.0
