#!/usr/bin/python3
"""`sparseinfer calibrate --holdout` and `stream --latency-budget` on the
person network over vtest.avi (issue 18).

calibrate fits on frames 0-5 and reports the held-out frames 6-11 apart; the
report must equal what `stream --compare-dense` measures with the written
thresholds on the same frames (the same stream from frame 0), --margin must
fit below max-loss, and bad values are usage errors. stream --latency-budget
adds threshold_scale per frame, which rises while frames miss the budget, and
refuses settings it cannot act on (and --target-sparsity beside it).

Usage: test_calibrate_holdout.py PATH/TO/sparseinfer MODELS_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail else ""))
    if not ok:
        failures.append(name)


def main():
    cli, models = sys.argv[1], sys.argv[2]
    model = os.path.join(models, "cbinfer_personlabel.onnx")
    for f in (cli, model, VTEST):
        if not os.path.exists(f):
            sys.exit(f"missing input {f}")
    common = ["--video", VTEST, "--size", "192x144", "--threads", "1"]
    with tempfile.TemporaryDirectory(prefix="sparseinfer_holdout_") as tmp:
        out = os.path.join(tmp, "person.thresholds.json")
        p = subprocess.run([cli, "calibrate", model, *common, "--max-loss", "0.02", "--frames", "6", "--holdout", "6",
                            "--margin", "0.25", "--initial", "0.05", "--out", out],
                           capture_output=True, text=True, timeout=900)
        check("calibrate --holdout exits 0", p.returncode == 0, p.stderr[-2000:])
        if p.returncode != 0:
            sys.exit(1)
        report = json.loads(p.stdout.strip().splitlines()[-1])
        cal, held = report["calibration"], report["holdout"]
        check("report: calibration frames 0-5, held-out frames 6-11",
              (cal["first_frame"], cal["last_frame"], cal["frames"]) == (0, 5, 6) and
              (held["first_frame"], held["last_frame"], held["frames"]) == (6, 11, 6), json.dumps(report))
        check("report: the fit aims at max-loss x (1 - margin)", abs(report["fit_loss"] - 0.015) < 1e-12 and
              cal["loss_worst"] <= report["fit_loss"] + 1e-12, json.dumps(cal))
        check("report: holds says whether the held-out worst loss keeps max-loss",
              report["holds"] == (held["loss_worst"] <= 0.02), json.dumps(report))
        check("report: loss is 1 - the worst agreement", abs(held["loss_worst"] - (1 - held["agreement_min"])) < 2e-6,
              json.dumps(held))
        check("held-out report printed on stderr", "held-out frames (6-11)" in p.stderr, p.stderr[-500:])

        # The same stream, measured by stream --compare-dense with the written file.
        s = subprocess.run([cli, "stream", model, *common, "--thresholds", out, "--compare-dense", "--frames", "12"],
                           capture_output=True, text=True, timeout=600)
        lines = [json.loads(line) for line in s.stdout.splitlines()]
        check("stream reads the written thresholds", s.returncode == 0 and len(lines) == 12, s.stderr[-500:])
        if len(lines) == 12:
            fit = [r["agreement"] for r in lines[:6]]
            rest = [r["agreement"] for r in lines[6:]]
            check("calibration span equals stream's frames 0-5", abs(min(fit) - cal["agreement_min"]) < 2e-6 and
                  abs(sum(fit) / 6 - cal["agreement_mean"]) < 2e-6, f"{fit} vs {cal}")
            check("held-out span equals stream's frames 6-11", abs(min(rest) - held["agreement_min"]) < 2e-6 and
                  abs(sum(rest) / 6 - held["agreement_mean"]) < 2e-6, f"{rest} vs {held}")
            macs = sum(r["mac_fraction"] for r in lines[6:]) / 6
            check("held-out MAC fraction equals stream's", abs(macs - held["mac_fraction_mean"]) < 2e-6,
                  f"{macs} vs {held['mac_fraction_mean']}")

        for bad, why in ((["--margin", "1"], "--margin 1"), (["--holdout", "-3"], "--holdout -3")):
            b = subprocess.run([cli, "calibrate", model, *common, "--max-loss", "0.02", *bad, "--out", out],
                               capture_output=True, text=True, timeout=120)
            check(f"calibrate {why} is a usage error", b.returncode == 2, b.stderr[-300:])

        # stream --latency-budget: a budget no frame meets raises the thresholds' scale.
        s = subprocess.run([cli, "stream", model, *common, "--thresholds", out, "--frames", "6",
                            "--latency-budget", "0.01"], capture_output=True, text=True, timeout=600)
        lines = [json.loads(line) for line in s.stdout.splitlines()] if s.returncode == 0 else []
        scales = [r.get("threshold_scale") for r in lines]
        check("stream --latency-budget reports threshold_scale, rising while frames miss the budget",
              len(scales) == 6 and scales[0] == 1.0 and scales[1] == 1.0 and scales[2] > 10 and
              all(b >= a for a, b in zip(scales, scales[1:])), f"{scales} {s.stderr[-300:]}")
        for bad, why in ((["--mode", "dense", "--latency-budget", "20"], "dense mode"),
                         (["--latency-budget", "20"], "thresholds of 0"),
                         (["--thresholds", out, "--latency-budget", "-1"], "a negative budget"),
                         (["--thresholds", out, "--latency-budget", "20", "--target-sparsity", "0.8"],
                          "--target-sparsity (both move the thresholds)")):
            b = subprocess.run([cli, "stream", model, *common, "--frames", "2", *bad], capture_output=True, text=True,
                               timeout=120)
            check(f"stream --latency-budget with {why} is a usage error",
                  b.returncode == 2 and "latency-budget" in b.stderr, b.stderr[-300:])
    print(f"{len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
