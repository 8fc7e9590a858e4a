#!/usr/bin/env python3
"""`sparseinfer stream --decode` and model descriptions from the command line:
a model without a description runs as before and refuses --decode with a
reason; a wrong description stops stream with the file and the field; the
example models' descriptions decode in dense and change mode alike."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(os.environ.get("SPARSEINFER_BUILD_DIR", os.path.join(ROOT, "build")), "core", "cli", "sparseinfer")
MODELS = os.path.join(ROOT, "examples", "models")
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += not ok


def stream(model, *extra):
    return subprocess.run([BIN, "stream", model, "--video", "synthetic", "--frames", "2", "--threads", "1", *extra],
                          capture_output=True, text=True)


def main():
    for path in (BIN, os.path.join(MODELS, "detnet_small.onnx")):
        if not os.path.exists(path):
            sys.exit(f"FAIL: missing {path}")
    with tempfile.TemporaryDirectory(prefix="sparseinfer-desc-cli-") as tmp:
        model = os.path.join(tmp, "detnet_small.onnx")
        shutil.copy(os.path.join(MODELS, "detnet_small.onnx"), model)
        # No description: stream runs as before, --decode says why it cannot.
        r = stream(model, "--size", "128x64")
        check(r.returncode == 0 and len(r.stdout.splitlines()) == 2, "no description: stream runs")
        r = stream(model, "--size", "128x64", "--decode")
        check(r.returncode != 0 and "no model description" in r.stderr, f"no description: --decode refused ({r.stderr.strip()})")
        # A wrong field is named, with the file.
        with open(model + ".json", "w") as f:
            json.dump({"decoder": {"type": "centernet", "score_threshold": "high"}}, f)
        r = stream(model, "--size", "128x64", "--decode")
        check(r.returncode != 0 and model + ".json: decoder.score_threshold" in r.stderr,
              f"wrong field named ({r.stderr.strip()})")
        with open(model + ".json", "w") as f:
            json.dump({"decoder": {"type": "centernet", "heatmap_output": "heat"}}, f)
        r = stream(model, "--size", "128x64")
        check(r.returncode != 0 and "decoder.heatmap_output" in r.stderr and "'heat'" in r.stderr,
              f"missing output named ({r.stderr.strip()})")

    # The example models' descriptions: --decode in dense and change mode (threshold 0) agree.
    for name, key in (("detnet_small.onnx", "detections"), ("segnet_small.onnx", "mask_fraction"),
                      ("cbinfer_personlabel.onnx", "mask_fraction")):
        model = os.path.join(MODELS, name)
        rows = {}
        for mode in ("dense", "change"):
            r = stream(model, "--size", "128x96", "--decode", "--mode", mode, "--threshold", "0")
            if r.returncode != 0:
                check(False, f"{name} {mode}: {r.stderr.strip()}")
                break
            rows[mode] = [json.loads(line)[key] for line in r.stdout.splitlines()]
        if len(rows) < 2:
            continue
        same = True
        for d, c in zip(rows["dense"], rows["change"]):
            if key == "mask_fraction":
                same &= d.keys() == c.keys() and all(abs(d[k] - c[k]) <= 1e-6 for k in d)
                same &= abs(sum(d.values()) - 1) < 1e-4
            else:
                same &= len(d) == len(c) and all(
                    a["label"] == b["label"] and max(abs(x - y) for x, y in zip(a["box"], b["box"])) < 1e-2
                    for a, b in zip(d, c))
        check(same and len(rows["dense"]) == 2, f"{name}: {key} in dense and change mode agree ({rows['dense'][-1]})")
    if os.path.exists(os.path.join(MODELS, "cbinfer_personlabel.onnx")):
        r = stream(os.path.join(MODELS, "cbinfer_personlabel.onnx"), "--size", "128x96", "--decode")
        check(r.returncode == 0 and "\"person\"" in r.stdout, "labels from the description name the classes")
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
