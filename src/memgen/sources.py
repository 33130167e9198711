"""The memgen source files a piece of code depends on, found from its imports: the one source of the
workflow's code inputs (a rule reruns when a module its driver imports changes) and of the code
digests that guard checkpoints (a checkpoint of other code is never resumed).
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # src/memgen


def memgen_imports(source: str, filename: str = "<source>") -> set[str]:
    """The memgen modules that Python ``source`` imports (``import memgen.x``, ``from memgen.x import …``,
    ``from memgen import x``)."""
    found = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("memgen.")}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "memgen":
                found |= {f"memgen.{a.name}" for a in node.names}
            elif node.module.startswith("memgen."):
                found.add(node.module)
    return found


def module_path(module: str) -> Path | None:
    """The source file of memgen module ``module`` (a package's __init__.py), or None if there is none."""
    rel = Path(*module.split(".")[1:])
    path = PACKAGE / rel / "__init__.py" if (PACKAGE / rel).is_dir() else (PACKAGE / rel).with_suffix(".py")
    return path if path.exists() else None


def module_closure(*modules: str) -> list[Path]:
    """Source files of ``modules``, of the memgen package and of every memgen module they import,
    recursively; sorted by module name."""
    seen: dict[str, Path | None] = {}
    todo = ["memgen", *modules]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen[mod] = module_path(mod)
        if seen[mod] is not None:
            todo.extend(memgen_imports(seen[mod].read_text(), str(seen[mod])))
    return [path for _, path in sorted(seen.items()) if path is not None]


def source_digest(*modules: str) -> str:
    """sha256 over the files of :func:`module_closure` (their paths below the package and contents)."""
    h = hashlib.sha256()
    for path in module_closure(*modules):
        h.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
