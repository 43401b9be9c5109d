"""One exported model run by onnxruntime with a KV cache that doc2slm owns (the onnx engine's decoder).

Why not onnxruntime-genai's Generator: it owns its KV cache, so a row cannot leave a batch before the last
row ends, nor start from a prompt prefix computed for another request. The local teacher sends hundreds of
prompts whose first ~200 of ~240 tokens (system text, worked examples) are the same, and on a CPU the
prefill is compute-bound: reusing that prefix is most of the speed there is (prefix_cache.py).

The model is the one onnxruntime-genai's builder exports (onnx_export.py): its GroupQueryAttention reads
each row's length from the attention mask's row sum and, when the past and present KV tensors are one
buffer, writes the new keys and values in place at that length. So every row of a batch may have its own
length: a row's slot holds its keys and values at positions [0, length), the rest is ignored. Measured
against onnxruntime-genai on the same export (fp32 and int8): rows prefilled alone and decoded together,
and a prompt prefilled in two parts (a cached prefix, then the rest), give its greedy tokens exactly.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from doc2slm_serving.onnx_export import last_logits_graph

log = logging.getLogger(__name__)
# The KV buffer grows in steps of this many positions (each growth copies the buffer once).
LENGTH_STEP = 256
_pool_lock = threading.Lock()
_pool_threads: int | None = None  # the size of this process's shared pool, once made


def shared_thread_pool(threads: int) -> bool:
    """Make this process's one onnxruntime intra-op thread pool (first call), for every model's session.

    Each model (the base, each adapter) is a session of its own. With a pool per session, the threads of
    the session that just ran spin-wait for more work while the next model's threads run on the same
    cores. Measured on 2 cores, the evaluation's answers with base and tuned: 31.7 and 34.0 s with a pool
    per session, 27.0 and 26.6 s with one pool (the steps where both models decode took half the time).
    The first caller's `threads` sizes it. False if the pool cannot be made: then a pool per session."""
    global _pool_threads
    import onnxruntime.capi._pybind_state as ort_state

    with _pool_lock:
        if _pool_threads is None:
            try:
                ort_state.set_global_thread_pool_sizes(threads, 1)
            except Exception as error:  # made by someone else in this process, or refused
                if "already been created" not in str(error):
                    log.warning("onnxruntime's shared thread pool could not be made (%s): a pool per model", error)
                    return False
            _pool_threads = threads
        elif _pool_threads != threads:
            log.info("onnxruntime's shared thread pool has %d threads; %d asked for later", _pool_threads, threads)
    return True


class KvDecoder:
    """Slots 0..rows-1 of one KV buffer hold the rows being decoded, in order; a finished row's slot is
    refilled with the last row so that a decode step always runs over one contiguous block."""

    def __init__(self, directory: Path, threads: int, context_length: int, max_rows: int = 1) -> None:
        import onnxruntime as ort

        decoder = json.loads((directory / "genai_config.json").read_text())["model"]["decoder"]
        self.layers = int(decoder["num_hidden_layers"])
        self.kv_heads = int(decoder["num_key_value_heads"])
        self.head_size = int(decoder["head_size"])
        names = decoder["inputs"]
        self.past_names = [(names["past_key_names"] % i, names["past_value_names"] % i) for i in range(self.layers)]
        outputs = decoder["outputs"]
        self.present_names = [(outputs["present_key_names"] % i, outputs["present_value_names"] % i)
                              for i in range(self.layers)]
        options = ort.SessionOptions()
        if shared_thread_pool(threads):
            options.use_per_session_threads = False
        else:
            options.intra_op_num_threads = threads
        graph = last_logits_graph(directory, decoder["filename"])
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        past_type = next(i.type for i in self.session.get_inputs() if i.name == self.past_names[0][0])
        self.dtype: Any = np.float16 if "float16" in past_type else np.float32
        self.context_length = context_length
        self.max_rows = max_rows  # rows a batch may reach (the engine's max_batch_size): reserved at once
        self.kv = np.zeros((self.layers, 2, 0, self.kv_heads, 0, self.head_size), self.dtype)

    def reserve(self, rows: int, length: int) -> None:
        """Room for `rows` slots of `length` positions; a larger buffer keeps what the old one held."""
        have_rows, have_length = self.kv.shape[2], self.kv.shape[4]
        if rows <= have_rows and length <= have_length:
            return
        length = min(max(have_length, -(-length // LENGTH_STEP) * LENGTH_STEP), self.context_length)
        # Room for `max_rows` at once: a batch filling up one row at a time would otherwise copy the buffer
        # at every new row, and a new buffer's pages cost their first touch again (measured: 0.4 s to grow
        # 8 to 16 rows of SmolLM2's 256 positions; the growths took 4% of the evaluation's answering).
        rows = max(rows, have_rows, self.max_rows)
        grown = np.zeros((self.layers, 2, rows, self.kv_heads, length, self.head_size), self.dtype)
        grown[:, :, :have_rows, :, :have_length] = self.kv
        self.kv = grown

    def release(self) -> None:
        """Give the buffer's memory back (no rows left)."""
        self.kv = np.zeros((self.layers, 2, 0, self.kv_heads, 0, self.head_size), self.dtype)

    def prefill(self, slot: int, tokens: list[int], start: int) -> np.ndarray:
        """Run `tokens[start:]` for the row in `slot`, whose positions [0, start) already hold the keys and
        values of `tokens[:start]`; returns the logits of its last token."""
        self.reserve(slot + 1, len(tokens))
        ids = np.asarray([tokens[start:]], dtype=np.int64)
        return self._run(slot, slot + 1, ids, np.asarray([len(tokens)]))[0, -1]

    def decode(self, rows: int, last_tokens: list[int], lengths: list[int]) -> np.ndarray:
        """One step for slots [0, rows): each row's last token goes in at its own length (after the step,
        length + 1 positions are filled); returns the logits, one row each."""
        self.reserve(rows, max(lengths) + 1)
        ids = np.asarray(last_tokens, dtype=np.int64).reshape(rows, 1)
        return self._run(0, rows, ids, np.asarray(lengths) + 1)[:, -1]

    def _run(self, first: int, end: int, ids: np.ndarray, totals: np.ndarray) -> np.ndarray:
        binding = self.session.io_binding()
        binding.bind_cpu_input("input_ids", ids)
        # Only the row sums and the width matter to the graph: row b attends to its first totals[b] positions.
        width = int(totals.max())
        binding.bind_cpu_input("attention_mask", (np.arange(width)[None, :] < totals[:, None]).astype(np.int64))
        binding.bind_output("logits", "cpu")
        for layer, (past, present) in enumerate(zip(self.past_names, self.present_names, strict=True)):
            for part in (0, 1):
                view = self.kv[layer, part, first:end]
                # The same memory as past and present: GroupQueryAttention then appends in place.
                binding.bind_input(past[part], "cpu", 0, self.dtype, view.shape, view.ctypes.data)
                binding.bind_output(present[part], "cpu", 0, self.dtype, view.shape, view.ctypes.data)
        self.session.run_with_iobinding(binding)
        logits: np.ndarray = binding.get_outputs()[0].numpy()
        return logits

    def move(self, source: int, target: int, length: int) -> None:
        """Copy the first `length` positions of slot `source` into slot `target`."""
        self.kv[:, :, target, :, :length] = self.kv[:, :, source, :, :length]

    def read(self, slot: int, start: int, end: int) -> np.ndarray:
        """A copy of positions [start, end) of a slot, every layer's keys and values."""
        return self.kv[:, :, slot, :, start:end].copy()

    def write(self, slot: int, start: int, block: np.ndarray) -> None:
        self.kv[:, :, slot, :, start:start + block.shape[3]] = block
