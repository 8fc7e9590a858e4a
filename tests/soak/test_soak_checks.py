#!/usr/bin/python3
"""The checks of soak.py can fail: its summary, fed per-frame rows in the form
soak_pipeline prints, flags RSS growth beyond 5 % after warm-up, a higher error
over the last 100 frames than over frames 100-199, and a frame computed densely
after the first (issue 14, point 6). Exits 1 when a check is not caught."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak  # noqa: E402

failures = []


def frames(n=300, period=100, rss=lambda i: 100000, mse=lambda i: 0.1 + 0.001 * (i % 100), dense=(0,)):
    return [{"frame": i, "input": i % period, "rss_kib": rss(i), "dense_frame": i in dense, "inferred": True,
             "mac_fraction": 0.2, "changed_fraction": 0.02, "ms": 10.0, "state_bytes": 1000, "mse": mse(i),
             "max_abs": 1.0, "agreement": 0.99} for i in range(n)]


def summary(rows, max_mse=None):
    args = argparse.Namespace(warmup=200, period=100, rss_tolerance=0.05, clip="clip", size="192x144",
                              thresholds_file=None, threshold=None, max_mse=max_mse)
    return soak.summarize(args, ["soak_pipeline"], rows, 1.0)


def expect(name, s, key, value):
    ok = s[key] is value and s["passed"] is (value and all(s[k] for k in ("rss_flat", "no_drift",
                                                                          "change_mode_throughout", "within_max_mse")))
    print(("ok   " if ok else "FAIL ") + f"{name}: {key}={s[key]} passed={s['passed']}")
    if not ok:
        failures.append(name)


expect("steady run passes", summary(frames()), "passed", True)
expect("equal windows pass (no higher)", summary(frames()), "no_drift", True)
expect("RSS growing 6 % after warm-up fails", summary(frames(rss=lambda i: 100000 + (6000 if i > 250 else 0))),
       "rss_flat", False)
expect("RSS growing 4 % after warm-up passes", summary(frames(rss=lambda i: 100000 + (4000 if i > 250 else 0))),
       "rss_flat", True)
expect("error rising by 0.1 % in the last 100 fails",
       summary(frames(mse=lambda i: (0.1 + 0.001 * (i % 100)) * (1.001 if i >= 200 else 1.0))), "no_drift", False)
expect("error lower in the last 100 passes",
       summary(frames(mse=lambda i: (0.1 + 0.001 * (i % 100)) * (0.999 if i >= 200 else 1.0))), "no_drift", True)
expect("a dense frame after frame 0 fails", summary(frames(dense=(0, 150))), "change_mode_throughout", False)
expect("an error above --max-mse fails", summary(frames(), max_mse=1e-9), "within_max_mse", False)
sys.exit(1 if failures else 0)
