"""How a document's pages are shared among workers changes nothing in its chunks; a free worker helps with a
large document; workers may start in the background; documents get workers in the order of their tickets."""

from __future__ import annotations

import threading
import time

import pytest
from doc2slm_extraction import testing_pdfs
from doc2slm_extraction.extractor import Extractor
from doc2slm_extraction.settings import ExtractionSettings
from doc2slm_extraction.worker_pool import WorkerPool


@pytest.mark.parametrize("backend", ["pypdf", "pypdfium2"])
def test_a_free_worker_helps_with_a_large_document_and_the_chunks_stay_the_same(backend: str) -> None:
    data = testing_pdfs.large_pdf(pages=40, seed=5)
    with Extractor(ExtractionSettings(workers=1, pages_per_task=1000)) as whole:
        expected = whole.extract(data, "manual.pdf", whole.options(backend=backend))
    with Extractor(ExtractionSettings(workers=2, pages_per_task=4), start_in_background=True) as shared:
        got = shared.extract(data, "manual.pdf", shared.options(backend=backend))
        workers = [shared.pool._idle.get() for _ in range(shared.pool.size)]
        for worker in workers:
            shared.pool._idle.put(worker)
    assert got.pages == expected.pages == 40
    assert [chunk.to_record() for chunk in got.chunks] == [chunk.to_record() for chunk in expected.chunks]
    assert (got.chars_raw, got.chars_kept, got.non_content) == (expected.chars_raw, expected.chars_kept,
                                                                 expected.non_content)
    if backend == "pypdf":  # pdfium's ranges take milliseconds: the first worker may finish before help comes
        assert all(worker.tasks_done > 1 for worker in workers)  # both took ranges of the one document


def test_documents_get_workers_in_the_order_of_their_tickets() -> None:
    with WorkerPool(1, 640) as pool:
        held = pool.lease()
        tickets = [pool.ticket() for _ in range(3)]
        order: list[int] = []

        def take(ticket: int) -> None:
            with pool.lease(ticket):
                order.append(ticket)

        threads = [threading.Thread(target=take, args=(ticket,)) for ticket in reversed(tickets)]
        for thread in threads:  # the last ticket asks first
            thread.start()
        while len(pool._queue) < 3:
            time.sleep(0.01)
        assert not pool.spare() and pool.waited_for()
        held.close()
        for thread in threads:
            thread.join(timeout=60)
    assert order == tickets
