"""`make lock`: write the hashed lock files from requirements/*.in with uv (installed, hash-checked, from
requirements/bootstrap.txt).

- requirements/bootstrap.txt  pip and uv, installed first into a new .venv (--require-hashes)
- requirements/lock.txt       the whole development environment (base.in), every file's sha256
- requirements/models.txt     the bundled model packages (models.in, --no-deps), one line a package so a
                              Dockerfile can pick one with grep
- requirements/constraints.txt  lock.txt without hashes and local version labels: the images install
                              their own package against it (`pip install -c`), which a hashed file cannot
                              serve (pip then wants hashes for the local source folders too)

Existing pins are kept (uv reads the output file as preferences); to move a pin, change the .in file or
delete the pin's lines from the output first. torch is the CPU build from the wheel folder on disk
(--find-links); its hash is that file's.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements"
# (input, output, extra uv arguments)
LOCKS = (("bootstrap.in", "bootstrap.txt", ()), ("base.in", "lock.txt", ()),
         ("models.in", "models.txt", ("--no-deps",)))
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;+]+)(\+[^\s;]+)?")


def logical_lines(text: str) -> list[str]:
    """Requirement lines with backslash continuations joined and comments and blank lines dropped."""
    joined = re.sub(r"\\\n", " ", text)
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in joined.splitlines())
    return [" ".join(line.split()) for line in lines if line]


def pins(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (the pinned version as written, its --hash values) for every requirement of a lock file."""
    found: dict[str, tuple[str, list[str]]] = {}
    for line in logical_lines(text):
        match = _PIN.match(line)
        if not match:
            raise ValueError(f"not a pinned requirement: {line!r}")
        hashes = re.findall(r"--hash=(\S+)", line)
        found[match.group(1).lower()] = (match.group(2) + (match.group(3) or ""), hashes)
    return found


def constraints(lock_text: str) -> str:
    """The lock's pins without hashes or local labels (torch==2.13.0+cpu -> torch==2.13.0: the images take
    torch from the CPU index or, for the GPU trainer, from PyPI)."""
    lines = ["# Written by `make lock` (scripts/lock.py) from requirements/lock.txt: the same pins without hashes,",
             "# for the images' `pip install -c` (hashed constraints would demand hashes of the source folders)."]
    for name, (version, _) in sorted(pins(lock_text).items()):
        lines.append(f"{name}=={version.split('+')[0]}")
    return "\n".join(lines) + "\n"


def one_line_each(text: str) -> str:
    """uv's output with each requirement and its hashes on one line (comments kept)."""
    lines = text.splitlines()
    header = lines[:next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))]
    return "\n".join(header + logical_lines(text)) + "\n"


def compile_locks(uv: str, python: str, find_links: list[str]) -> None:
    for source, output, extra in LOCKS:
        command = [uv, "pip", "compile", "--quiet", "--generate-hashes", "--python", python,
                   "--custom-compile-command", "make lock", *(f"--find-links={d}" for d in find_links),
                   *extra, "--output-file", f"requirements/{output}", f"requirements/{source}"]
        print("+", " ".join(command), flush=True)
        subprocess.run(command, check=True, cwd=REQUIREMENTS.parent)
    models = REQUIREMENTS / "models.txt"
    models.write_text(one_line_each(models.read_text()))
    (REQUIREMENTS / "constraints.txt").write_text(constraints((REQUIREMENTS / "lock.txt").read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uv", required=True, help="the uv executable")
    parser.add_argument("--python", required=True, help="the interpreter to resolve for (the venv's)")
    parser.add_argument("--find-links", action="append", default=[], help="a folder of wheels (the CPU torch)")
    args = parser.parse_args(argv)
    compile_locks(args.uv, args.python, [d for d in args.find_links if Path(d).is_dir()])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
