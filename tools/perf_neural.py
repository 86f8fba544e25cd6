"""`make perf`, the neural pair: fit time per 1,000 training rows of `neural_flow` and `neural_mlp`
beside `logistic_regression`, measured side by side (a benchmark, not a test).

Each model is fitted on the same training sample of three shipped scenarios (the shapes the panel
runs: many rows and few features, few rows, a thousand noise features), on one BLAS and one torch
thread as the harness fits, in interleaved rounds (so a busy machine slows every model alike); the
minimum over rounds is reported (whole fit and per 1,000 rows: the pair's budget is a fixed number
of steps, so its time grows with the features more than with the rows), and the first fit in the
process (torch's import and first-call set-up, paid once per worker) separately. Prints one line
per scenario and writes a JSON file.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from spurbench.registry import get_model
from threadpoolctl import threadpool_limits

MODELS = ("logistic_regression", "neural_flow", "neural_mlp")
# (scenario, training rows): the shapes of the panel's shifted scenarios
SHAPES = (("spurious_gaussian", 1000), ("exp_phase_spur100", 50),
          ("exp_groups_noise1000", 200))


def _sample(name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    generator = load_scenario(DATASETS_DIR / f"{name}.toml").generator()
    sample = generator.sample(n, 0.0, np.random.default_rng(0), split="train")
    return sample.X, sample.y


def _fit_seconds(model: str, X: np.ndarray, y: np.ndarray) -> float:
    estimator = get_model(model).build(0)
    start = time.perf_counter()
    estimator.fit(X, y)
    return time.perf_counter() - start


def fit_times(rounds: int = 5) -> dict[str, object]:
    """Per scenario shape: each model's minimum fit time over `rounds` interleaved rounds, and per
    1,000 training rows; also each model's first fit in this process."""
    results: dict[str, object] = {"rounds": rounds, "shapes": []}
    with threadpool_limits(1):
        X, y = _sample(*SHAPES[0])
        results["first_fit_seconds"] = {m: _fit_seconds(m, X, y) for m in MODELS}
        for name, n in SHAPES:
            X, y = _sample(name, n)
            times: dict[str, list[float]] = {m: [] for m in MODELS}
            for _ in range(rounds):
                for model in MODELS:
                    times[model].append(_fit_seconds(model, X, y))
            best = {m: min(t) for m, t in times.items()}
            results["shapes"].append({"scenario": name, "n_train": n, "n_features": X.shape[1],
                                      "fit_seconds": best,
                                      "per_1000_rows": {m: 1000 * s / n for m, s in best.items()}})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/perf_neural.json"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    results = fit_times(args.rounds)
    first = ", ".join(f"{m} {s:.2f} s" for m, s in results["first_fit_seconds"].items())
    print(f"first fit in a process (imports, set-up): {first}")
    for shape in results["shapes"]:
        fits = ", ".join(f"{m} {s:.3f} s" for m, s in shape["fit_seconds"].items())
        per = ", ".join(f"{m} {s:.3f} s" for m, s in shape["per_1000_rows"].items())
        print(f"{shape['scenario']} ({shape['n_train']} x {shape['n_features']}): fit {fits}; per 1,000 "
              f"rows {per}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
