"""`make perf`: cost of the harness, measured side by side in one run (a benchmark, not a test).

Prints one line per measurement with its target and writes everything to a JSON file:

1. harness overhead: `harness.run(jobs=1)` over a fixed grid / the same fits and scorings in a
   bare Python loop (target <= 1.05); and the same on the grid with model selection (every point
   of each model's search space a fit, and the protocols' rows derived after the run); each side
   the minimum of five interleaved rounds, since the few per cent measured is what a busy
   moment of the machine moves one timing by;
2. parallel speed-up: jobs=1 wall time / jobs=2 wall time (target >= 1.7 on 2 cores), on a grid
   five times larger (and on a selection grid), with the worker pool already started (its
   one-off start cost, which a small grid cannot amortise, is measured first and printed);
3. resume of a finished grid / the cold run (target <= 0.05);
4. generator throughput of `gaussian_spurious` / numpy's standard normal filling the same array
   (target >= 0.8); a training sample, whose counterfactual copy is never made (it is computed
   when first read: test samples only); the ratio with the copy read is recorded beside it;
5. scaling: wall time at 1x, 2x, 4x the fits (log-log slope, ideal 1.0) and the parent's peak
   memory at each size (each size in a fresh process, so the peaks are not cumulative);
6. start-up: `spurbench --help` and `spurbench list models` / `python -c "import sklearn"`
   (target <= 2.0; medians of 5 fresh interpreters);
7. report / fits on the quick grid: `spurbench report RUN` / `spurbench run --quick --no-report`,
   both as a user runs them, in fresh processes (target <= 0.5); the median of three rounds.
8. `make paper`: not rerun (about 45 minutes on two cores), but read from the committed paper
   run's record of itself: `spurbench run` writes the wall time of its fits and of its report into
   its `run.json` (`timing`); their sum is checked against the 60-minute target.
With `--default-grid` it also times `make bench` as the Makefile runs it (the headline suite at
each scenario's largest training size, its models, `BENCH_SEEDS` seeds, every core), in a fresh
process, against the 5-minute target of its fits and report together (and report / fits <= 0.15);
`--bench-only` times only that and replaces its entry. With `--scale` it runs a 20,000-fit grid
of small synthetic fits on a 2-worker Dask LocalCluster and on the 2-worker
process pool, and a 1,000-fit grid on Dask: the parent's peak memory (20,000 / 1,000: target
<= 1.1), Dask's throughput / the pool's (target >= 0.9) and the store's write rate alone (fits
per second) beside the grid's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from spurbench import harness
from spurbench.evaluation.importance import role_importance, spurious_share
from spurbench.evaluation.metrics import score_predictions
from spurbench.generators.base import Generator
from spurbench.harness.fitting import VALIDATION_SIZE
from spurbench.harness.oracles import oracle_accuracies
from spurbench.harness.spec import DATASETS_DIR, Scenario, load_scenario
from spurbench.harness.store import META_NAME, TIMING_KEY
from spurbench.registry import get_generator, get_model
from threadpoolctl import threadpool_limits

TOOLS = str(Path(__file__).resolve().parent)  # the children import this file as `perf`
BENCH_SEEDS = 3  # the Makefile's BENCH_SEEDS: seeds of `make bench`
# Rounds of the small timings: the harness overhead is a few per cent of ~5 s, about what a busy
# moment of a shared 2-core machine moves one timing by (minimum of 5 interleaved rounds per
# side); the quick-grid report and its fits (median of 3 rounds, each ~30 s).
OVERHEAD_ROUNDS = 5
REPORT_ROUNDS = 3
MODELS = ["gaussian_nb", "lda", "qda", "logistic_regression", "random_forest", "mlp"]
BASE_SPEC = DATASETS_DIR / "spurious_gaussian.toml"


BENCH_MINUTES = 5  # the target of `make bench`: fits and report


def bench_timing(out: Path) -> dict[str, object]:
    """`make bench` as the Makefile runs it (`spurbench run --headline --largest-n`, `BENCH_SEEDS`
    seeds, every core), in a fresh process writing to `out`: the wall times of its fits and of
    its report as the run records them in its run.json (`timing`), and their sum."""
    subprocess.run([sys.executable, "-m", "spurbench", "run", "--headline", "--largest-n", "--out", str(out),
                    "--overwrite", "--seeds", str(BENCH_SEEDS), "--no-progress"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    timing = json.loads((out / META_NAME).read_text())[TIMING_KEY]
    return {**timing, "total_seconds": timing["fits_seconds"] + timing["report_seconds"]}


def _bench_line(bench: dict[str, object]) -> str:
    minutes = bench["total_seconds"] / 60
    return (f"  make bench: {bench['fits_run']:,} fits in {bench['fits_seconds']:.0f} s + report "
            f"{bench['report_seconds']:.0f} s = {minutes:.1f} min on {bench['cpus']} cores, target <= "
            f"{BENCH_MINUTES}: {'ok' if minutes <= BENCH_MINUTES else 'MISSED'}")


def perf_scenario(seeds: int) -> Scenario:
    """The fixed grid: the default spurious scenario, smaller test sets, `seeds` seeds."""
    return replace(load_scenario(BASE_SPEC), n_train=(200, 1000), n_test=2000, seeds=seeds)


def _timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def bare_loop(scenario: Scenario, models: list[str]) -> None:
    """The same data, fits and scorings as the harness (metrics, feature importance, training and
    validation accuracy, oracle accuracies), written as the plainest loop: no keys, store, error
    handling, flags, pool or progress bar."""
    gen = scenario.generator()
    with threadpool_limits(limits=1):
        for task in harness.expand_grid([scenario], models):
            train = gen.sample(task.n_train, 0.0, task.train_rng(), split="train")
            model = get_model(task.model).build(task.model_seed(), task.config).fit(train.X, train.y)
            spurious_share(role_importance(model, train.X, train.y, train.roles,
                                           task.model_seed()))
            model.predict(train.X)
            val = gen.sample(min(scenario.n_test, VALIDATION_SIZE), 0.0, task.validation_rng())
            model.predict(val.X)
            for level in scenario.shift_levels:
                test = gen.sample(scenario.n_test, level, task.test_rng(level), split="test")
                score_predictions(test.y, model.predict_proba(test.X), test.group,
                                  model.predict_proba(test.X_counterfactual))
                oracle_accuracies(gen, task.scenario_hash, level)


def harness_run(scenario: Scenario, models: list[str], out: Path, **kwargs) -> float:
    return _timed(harness.run, [scenario], models, out_dir=out, progress=False, **kwargs)


def overhead(scenario: Scenario, out: Path) -> tuple[float, float]:
    """The bare loop's and the harness's (one job) wall time on `scenario`: each the minimum of
    `OVERHEAD_ROUNDS` interleaved rounds (the harness's runs in `out0`, `out1`, ...)."""
    rounds = [(_timed(bare_loop, scenario, MODELS),
               harness_run(scenario, MODELS, out.with_name(f"{out.name}{i}"), jobs=1))
              for i in range(OVERHEAD_ROUNDS)]
    bare, one = (min(times) for times in zip(*rounds, strict=True))
    return bare, one


def generator_throughput(n: int = 400_000, repeats: int = 5) -> dict[str, float]:
    gen: Generator = get_generator("gaussian_spurious")(n_core=4, n_spurious=2, n_noise=10)
    d = len(gen.roles)
    rng = np.random.default_rng(0)
    ours = min(_timed(gen.sample, n, 0.5, rng) for _ in range(repeats))
    numpy = min(_timed(rng.standard_normal, (n, d)) for _ in range(repeats))
    test = min(_timed(lambda: gen.sample(n, 0.5, rng).X_counterfactual) for _ in range(repeats))
    return {"rows_x_features_per_second": n * d / ours, "numpy_per_second": n * d / numpy,
            "ratio": numpy / ours, "ratio_with_counterfactual": numpy / test}


def peak_kib() -> int:
    """This process's peak resident memory (KiB) since its own start: VmHWM, which a fresh
    interpreter starts afresh (ru_maxrss keeps the forking parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


_SCALING_CHILD = """
import sys, tempfile, time
from spurbench import harness
sys.path.insert(0, sys.argv[2])  # this file's folder: tools/ is not a package
from perf import perf_scenario, peak_kib, MODELS
scenario = perf_scenario(int(sys.argv[1]))
with tempfile.TemporaryDirectory() as out:
    start = time.perf_counter()
    harness.run([scenario], MODELS, out_dir=out, jobs=1, progress=False)
    print(time.perf_counter() - start, peak_kib())
"""


def scaling(base_seeds: int) -> dict[str, object]:
    sizes, walls, peaks = [1, 2, 4], [], []
    for factor in sizes:
        out = subprocess.run([sys.executable, "-c", _SCALING_CHILD, str(base_seeds * factor), TOOLS],
                             capture_output=True, text=True, check=True).stdout.split()
        walls.append(float(out[0]))
        peaks.append(int(out[1]) / 1024)
    slope = float(np.polyfit(np.log(sizes), np.log(walls), 1)[0])
    return {"factors": sizes, "wall_seconds": walls, "peak_parent_mib": peaks, "slope": slope}


ROOT = Path(__file__).resolve().parent.parent


def _wall(argv: list[str]) -> float:
    """Wall time of a fresh `python argv...` run from the repository root (so `-m spurbench` is this
    checkout), output discarded; a failure is an error of the measurement."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def startup(repeats: int = 5) -> dict[str, float]:
    """Median wall time of `import sklearn`, `spurbench --help` and `spurbench list models`."""
    commands = {"import_sklearn": ["-c", "import sklearn"], "help": ["-m", "spurbench", "--help"],
                "list_models": ["-m", "spurbench", "list", "models"]}
    _wall(commands["list_models"])  # warm the file cache and bytecode once
    return {name: statistics.median(_wall(argv) for _ in range(repeats))
            for name, argv in commands.items()}


def report_ratio(out: Path, quick: bool = True, rounds: int = 1) -> dict[str, float]:
    """Wall time of `spurbench run [--quick] --no-report` and of `spurbench report` on its rows;
    with several `rounds` (each a fresh run and its report), the round of the median ratio."""
    run = ["-m", "spurbench", "run", "--out", str(out), "--overwrite", "--no-report", "--no-progress"]
    measured = []
    for _ in range(rounds):
        fits = _wall(run + (["--quick"] if quick else []))
        report = _wall(["-m", "spurbench", "report", str(out)])
        measured.append({"fits_seconds": fits, "report_seconds": report, "ratio": report / fits})
    return sorted(measured, key=lambda m: m["ratio"])[len(measured) // 2]


PAPER = ROOT / "results" / "paper"
PAPER_MINUTES = 60  # the target of `make paper`: fits and report


def paper_timing(run_dir: Path = PAPER) -> dict[str, object] | None:
    """How long `make paper` took, as the run in `run_dir` recorded it (`store.record_timing`):
    its fits, its report and their sum in seconds, with the jobs and cores it ran on and its
    commit; None when its run.json records no complete timing (a run made before timings were
    recorded, or one made with `--no-report`)."""
    path = run_dir / META_NAME
    meta = json.loads(path.read_text()) if path.exists() else {}
    timing = meta.get(TIMING_KEY) or {}
    if timing.get("fits_seconds") is None or timing.get("report_seconds") is None:
        return None
    return {**timing, "total_seconds": timing["fits_seconds"] + timing["report_seconds"],
            "git_commit": meta.get("git_commit"),
            "recorded_in": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)}


def scale_scenario(fits: int) -> Scenario:
    """Small synthetic fits: two sizes x two models x `fits` / 4 seeds, two shift levels."""
    return replace(load_scenario(BASE_SPEC), n_train=(40, 60), n_test=200, shift_levels=(0.0, 1.0),
                   seeds=max(1, fits // 4))


SCALE_MODELS = ["lda", "gaussian_nb"]
_SCALE_CHILD = """
import sys, tempfile, time
from spurbench import harness
sys.path.insert(0, sys.argv[3])  # this file's folder: tools/ is not a package
from perf import SCALE_MODELS, peak_kib, scale_scenario
scenario = scale_scenario(int(sys.argv[2]))
with tempfile.TemporaryDirectory() as out:
    start = time.perf_counter()
    summary = harness.run([scenario], SCALE_MODELS, out_dir=out, jobs=2, backend=sys.argv[1],
                          progress=False)
    wall = time.perf_counter() - start
    print(wall, peak_kib())
"""


def store_write_rate(fits: int = 2000) -> float:
    """Fits per second the store commits on its own (one transaction per fit, rows as a fit's)."""
    from spurbench.harness.fitting import run_fit
    from spurbench.harness.store import ResultStore

    task = harness.expand_grid([scale_scenario(4)], SCALE_MODELS)[0]
    rows = run_fit(task).rows
    with tempfile.TemporaryDirectory() as out, ResultStore(out) as store:
        start = time.perf_counter()
        for i in range(fits):
            store.write_fit(f"{task.key}-{i}", [{**row, "fit_key": f"{task.key}-{i}"} for row in rows])
        return fits / (time.perf_counter() - start)


def scale_grid(big: int = 20_000, small: int = 1_000) -> dict[str, object]:
    """The 20,000-fit grid on Dask and on the pool, the 1,000-fit grid on Dask (fresh processes)."""
    runs = {}
    for backend, fits in (("dask", small), ("dask", big), ("loky", big)):
        out = subprocess.run([sys.executable, "-c", _SCALE_CHILD, backend, str(fits), TOOLS], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
        runs[f"{backend}_{fits}"] = {"fits": len(harness.expand_grid([scale_scenario(fits)], SCALE_MODELS)),
                                     "wall_seconds": float(out[-2]), "peak_parent_mib": int(out[-1]) / 1024}
    for run in runs.values():
        run["fits_per_second"] = run["fits"] / run["wall_seconds"]
    dask_big, dask_small, pool = runs[f"dask_{big}"], runs[f"dask_{small}"], runs[f"loky_{big}"]
    return {"runs": runs, "store_fits_per_second": store_write_rate(),
            "memory_ratio": dask_big["peak_parent_mib"] / dask_small["peak_parent_mib"],
            "throughput_ratio": dask_big["fits_per_second"] / pool["fits_per_second"]}


def refresh_bench(out: Path) -> int:
    """Time `make bench` and replace the `bench` entry of the stored measurements."""
    results = json.loads(out.read_text()) if out.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        results["bench"] = bench_timing(Path(tmp) / "bench")
    out.write_text(json.dumps(results, indent=2))
    print(_bench_line(results["bench"]))
    return 0


def refresh_paper(out: Path) -> int:
    """Replace the `paper` entry of the stored measurements with the paper run's own record."""
    results = json.loads(out.read_text()) if out.exists() else {}
    paper = paper_timing()
    if paper is None:
        print(f"perf: {PAPER / META_NAME} records no timing; run `make paper` first")
        return 1
    results["paper"] = paper
    out.write_text(json.dumps(results, indent=2))
    minutes = paper["total_seconds"] / 60
    print(f"  make paper (recorded by the run, commit {str(paper['git_commit'])[:10]}): "
          f"{minutes:.1f} min, target <= {PAPER_MINUTES}: {'ok' if minutes <= PAPER_MINUTES else 'MISSED'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/perf.json"))
    parser.add_argument("--seeds", type=int, default=6, help="seeds of the fixed grid")
    parser.add_argument("--parallel-seeds", type=int, default=30,
                        help="seeds of the grid that measures the parallel speed-up")
    parser.add_argument("--default-grid", action="store_true",
                        help="also time the full default grid and its report (minutes)")
    parser.add_argument("--scale", action="store_true",
                        help="also run the 20,000-fit grid on Dask and on the pool (minutes)")
    parser.add_argument("--scale-fits", type=int, default=20_000,
                        help="fits of --scale's large grid (its small grid has 1,000)")
    parser.add_argument("--bench-only", action="store_true",
                        help="only time `make bench` (fits and report) and replace the `bench` entry "
                             "of --out")
    parser.add_argument("--paper-only", action="store_true",
                        help="only refresh the `paper` entry of --out from results/paper/run.json "
                             "(after `make paper`; nothing is measured)")
    args = parser.parse_args(argv)
    if args.paper_only:
        return refresh_paper(args.out)
    if args.bench_only:
        return refresh_bench(args.out)
    scenario = perf_scenario(args.seeds)
    n_fits = len(harness.expand_grid([scenario], MODELS))
    results: dict[str, object] = {"grid_fits": n_fits}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bare_loop(replace(scenario, seeds=1), MODELS)  # warm imports and caches for both sides
        bare, one = overhead(scenario, tmp / "one")
        # The grid with model selection: every configuration a fit, and the protocols' rows.
        searched = replace(scenario, seeds=max(1, args.seeds // 3), selection=True)
        bare_searched, one_searched = overhead(searched, tmp / "searched")
        resume = harness_run(scenario, MODELS, tmp / "one0", jobs=1, resume=True)
        # Starting worker processes, on a one-fit grid: a time limit sends even one fit to
        # workers (the first start also brings up the fork server, which later runs reuse).
        single = replace(scenario, seeds=1, n_train=(200,))
        pool_start = (harness_run(single, ["lda"], tmp / "pool2", jobs=2, timeout=600)
                      - harness_run(single, ["lda"], tmp / "pool1", jobs=1))
        # A small grid with the default --jobs runs in this process: no pool to start.
        small = replace(scenario, seeds=2, n_train=(200,))
        small_default = harness_run(small, ["lda", "gaussian_nb"], tmp / "small_default", jobs=-1)
        small_one = harness_run(small, ["lda", "gaussian_nb"], tmp / "small_one", jobs=1)
        big = perf_scenario(args.parallel_seeds)
        big_one = harness_run(big, MODELS, tmp / "big1", jobs=1)
        two = harness_run(big, MODELS, tmp / "big2", jobs=2)
        big_searched = replace(big, seeds=max(1, args.parallel_seeds // 5), selection=True)
        searched_speedup = (harness_run(big_searched, MODELS, tmp / "bigs1", jobs=1)
                            / harness_run(big_searched, MODELS, tmp / "bigs2", jobs=2))
        if args.default_grid:
            results["bench"] = bench_timing(tmp / "bench")
        quick_report = report_ratio(tmp / "quick", rounds=REPORT_ROUNDS)
    results.update(selection_grid_fits=len(harness.expand_grid([searched], MODELS)),
                   selection_bare_seconds=bare_searched, selection_jobs1_seconds=one_searched,
                   selection_parallel_grid_fits=len(harness.expand_grid([big_searched], MODELS)))
    results.update(bare_seconds=bare, jobs1_seconds=one, resume_seconds=resume,
                   parallel_grid_fits=len(harness.expand_grid([big], MODELS)),
                   parallel_jobs1_seconds=big_one, parallel_jobs2_seconds=two,
                   pool_start_seconds=pool_start, small_grid_default_jobs_seconds=small_default,
                   small_grid_jobs1_seconds=small_one)
    throughput = generator_throughput()
    scale = scaling(max(1, args.seeds // 2))
    start = startup()
    results.update(startup_seconds=start, quick_report=quick_report)
    lines = [
        ("harness overhead (jobs 1 / bare loop)", one / bare, "<= 1.05", one / bare <= 1.05),
        ("harness overhead, selection grid", one_searched / bare_searched, "<= 1.05",
         one_searched / bare_searched <= 1.05),
        ("parallel speed-up (jobs 1 / jobs 2)", big_one / two, ">= 1.70", big_one / two >= 1.7),
        ("parallel speed-up, selection grid", searched_speedup, ">= 1.70", searched_speedup >= 1.7),
        ("resume of a finished grid / cold run", resume / one, "<= 0.05", resume / one <= 0.05),
        ("4-fit grid, default --jobs / --jobs 1", small_default / small_one, "<= 2.00",
         small_default / small_one <= 2.0),
        ("generator throughput / numpy normal", throughput["ratio"], ">= 0.80",
         throughput["ratio"] >= 0.8),
        ("scaling slope over 1x, 2x, 4x fits", scale["slope"], "~ 1.00",
         abs(scale["slope"] - 1) <= 0.15),
        ("start-up: --help / import sklearn", start["help"] / start["import_sklearn"], "<= 2.00",
         start["help"] / start["import_sklearn"] <= 2),
        ("start-up: list models / import sklearn", start["list_models"] / start["import_sklearn"],
         "<= 2.00", start["list_models"] / start["import_sklearn"] <= 2),
        ("report / fits, quick grid", quick_report["ratio"], "<= 0.50", quick_report["ratio"] <= 0.5),
    ]
    if "bench" in results:
        ratio = results["bench"]["report_seconds"] / results["bench"]["fits_seconds"]
        lines.append(("report / fits, default grid", ratio, "<= 0.15", ratio <= 0.15))
    paper = paper_timing()
    results["paper"] = paper
    if paper is not None:
        minutes = paper["total_seconds"] / 60
        lines.append(("paper run: fits + report, recorded (min)", minutes, f"<= {PAPER_MINUTES}",
                      minutes <= PAPER_MINUTES))
    if args.scale:
        grid = scale_grid(big=args.scale_fits)
        results["scale"] = grid
        lines += [(f"scale: parent memory, {args.scale_fits:,} / 1,000 fits", grid["memory_ratio"], "<= 1.10",
                   grid["memory_ratio"] <= 1.1),
                  ("scale: Dask throughput / pool's", grid["throughput_ratio"], ">= 0.90",
                   grid["throughput_ratio"] >= 0.9)]
    print(f"fixed grid: {n_fits} fits; bare loop {bare:.2f} s, jobs=1 {one:.2f} s, "
          f"resume {resume:.3f} s")
    print(f"parallel grid: {results['parallel_grid_fits']} fits; jobs=1 {big_one:.2f} s, "
          f"jobs=2 {two:.2f} s; starting the 2-worker pool costs {pool_start:.2f} s")
    for name, value, target, ok in lines:
        print(f"  {name:<42} {value:7.3f}   target {target:<8} {'ok' if ok else 'MISSED'}")
    print(f"  parent peak memory (MiB) at 1x/2x/4x: "
          f"{', '.join(f'{p:.0f}' for p in scale['peak_parent_mib'])}")
    if "bench" in results:
        print(_bench_line(results["bench"]))
    if paper is None:
        print(f"  make paper: {PAPER / META_NAME} records no timing (made before runs recorded one, or "
              "with --no-report); the next `make paper` records it")
    else:
        print(f"  make paper (recorded by the run, commit {str(paper['git_commit'])[:10]}): "
              f"{paper['fits_seconds']:.0f} s of fits + {paper['report_seconds']:.0f} s of report")
    print(f"  quick grid: fits {quick_report['fits_seconds']:.1f} s, report "
          f"{quick_report['report_seconds']:.1f} s")
    if args.scale:
        for name, run in results["scale"]["runs"].items():
            print(f"  {name}: {run['fits_per_second']:.0f} fits/s, parent peak "
                  f"{run['peak_parent_mib']:.0f} MiB")
        print(f"  the store alone commits {results['scale']['store_fits_per_second']:.0f} fits/s")
    results.update(ratios={name: value for name, value, _, _ in lines}, generator=throughput,
                   scaling=scale)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
