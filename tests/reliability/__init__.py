"""The reliability suite: faults injected into the real services, and what was lost (the goal: nothing).

`python -m tests.reliability.run` (make reliability) runs every scenario and prints the table; the
test_*.py files run the same scenarios at small sizes inside `make test`.
"""
