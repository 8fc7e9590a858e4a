#!/usr/bin/env python3
"""Fails when a source file includes a header from a layer above its own.

The layers, bottom to top (DESIGN.md): the public API and core basics,
model, ops, then the backends cpu | kernels (neither includes the other),
engine (with io), dual and policy (neither includes the other), the tools library, the cli on it, gst. A new folder must be given a layer
here, so the check cannot silently skip code.

Usage: check_include_direction.py [REPO_ROOT]
"""

import os
import re
import sys

LAYERS = [  # (folder relative to the repository root, rank)
    ("core/include", 0), ("core", 0), ("core/util", 0),
    ("core/model", 1),
    ("core/ops", 2),
    ("core/cpu", 3), ("kernels", 3),
    ("core/engine", 4), ("core/io", 4), ("core/decode", 4),
    ("core/dual", 5), ("core/policy", 5), ("core/control", 5),
    ("core/tools", 6),
    ("core/cli", 7),
    ("gst", 8),
]
SOURCES = (".h", ".hpp", ".cuh", ".cpp", ".cc", ".cu")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def layer_of(path):
    """The deepest configured folder holding `path`, as (folder, rank)."""
    best = None
    for folder, rank in LAYERS:
        if path == folder or path.startswith(folder + "/"):
            if best is None or len(folder) > len(best[0]):
                best = (folder, rank)
    return best


def resolve(root, including, name):
    """Where an #include "name" of file `including` lands, relative to root."""
    for base in (os.path.dirname(including), "core", "core/include", "kernels", "gst", "gst/meta"):
        candidate = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(root, candidate)):
            return candidate
    return None


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
    problems, checked = [], 0
    for top in ("core", "kernels", "gst"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if not f.endswith(SOURCES):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                own = layer_of(rel)
                if own is None:
                    problems.append(f"{rel}: its folder has no layer in check_include_direction.py")
                    continue
                checked += 1
                with open(os.path.join(root, rel), encoding="utf-8") as handle:
                    text = handle.read()
                for name in INCLUDE.findall(text):
                    target = resolve(root, rel, name)
                    if target is None:
                        continue  # generated or system header
                    theirs = layer_of(target)
                    if theirs is None:
                        continue
                    upward = theirs[1] > own[1]
                    sideways = theirs[1] == own[1] and theirs[0] != own[0] and own[1] > 0 and theirs[1] > 0
                    if upward or sideways:
                        problems.append(f"{rel} ({own[0]}) includes {target} ({theirs[0]})")
    for p in problems:
        print("include direction:", p)
    print(f"include direction: {checked} files checked, {len(problems)} problems")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
