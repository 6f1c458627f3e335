"""Maps the repository's code folders onto the one import namespace ``emotive``.

``conditioning/`` becomes ``emotive.conditioning`` and so on. The folder walk
means adding a subpackage (a folder with ``__init__.py``) needs no edit here.
``emotive`` itself is a namespace package (no ``__init__.py``).
"""

import os

from setuptools import setup

ROOTS = ("conditioning", "generators", "evaluators", "apps")
DATA_PATTERNS = ["*.json", "*.jsonl", "*.safetensors", "*.md", "*.txt", "*.csv", "*.png", "*.mid", "*.wav", "*.sf2"]

packages: list[str] = []
package_dir: dict[str, str] = {}
package_data: dict[str, list[str]] = {}
for root in ROOTS:
    package_dir[f"emotive.{root}"] = root
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        if "__init__.py" in filenames:
            name = "emotive." + dirpath.replace(os.sep, ".")
            packages.append(name)
            # data files anywhere below a package (pretrained/<name>/..., data/...)
            sub = []
            for d2, dn2, fn2 in os.walk(dirpath):
                dn2[:] = [d for d in dn2 if d != "__pycache__"]
                if d2 != dirpath and "__init__.py" in fn2:
                    dn2[:] = []
                    continue
                rel = os.path.relpath(d2, dirpath)
                if any(f.endswith(tuple(p[1:] for p in DATA_PATTERNS)) for f in fn2):
                    sub += [os.path.join(rel, p) if rel != "." else p for p in DATA_PATTERNS]
            if sub:
                package_data[name] = sorted(set(sub))

setup(packages=packages, package_dir=package_dir, package_data=package_data)
