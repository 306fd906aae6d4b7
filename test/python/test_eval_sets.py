"""The MiniLM evaluation sets (scripts/build_eval_sets.py) and the statistics
of bench/eval_harness.py (issue 23).

The sets: the committed files have the recorded sha256, rebuild byte for
byte from the recorded sources, and calibration and evaluation share no
sentence, also after normalising case and whitespace. The statistics:
bootstrap intervals, top-k neighbour agreement and Spearman's rho against
cases whose answer is known. No full MiniLM inference runs here."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math

import numpy as np
import pytest

from conftest import REPO_ROOT

SETS = REPO_ROOT / "test" / "Inputs" / "eval_sets"


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sets():
    return load("scripts/build_eval_sets.py", "build_eval_sets")


@pytest.fixture(scope="module")
def harness():
    return load("bench/eval_harness.py", "eval_harness")


@pytest.fixture(scope="module")
def provenance():
    return json.loads((SETS / "provenance.json").read_text())


# ---------------------------------------------------------------------------
# The sets


def test_committed_sets_have_the_recorded_sha256_and_sizes(sets, provenance):
    for name in (sets.CALIBRATION_FILE, sets.EVALUATION_FILE):
        data = (SETS / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == provenance["sets"][name]["sha256"], name
        assert len(json.loads(data)) == provenance["sets"][name]["sentences"], name
    calibration, evaluation = sets.load_sets(SETS)
    assert len(calibration) == sets.CALIBRATION_SIZE and len(evaluation) == sets.EVALUATION_SIZE
    assert len(evaluation) >= 1000
    total = sum((SETS / p).stat().st_size for p in (sets.CALIBRATION_FILE, sets.EVALUATION_FILE,
                                                    sets.PROVENANCE_FILE))
    assert total < 300_000
    # Every source has its digest, and the sentences they gave are the pool
    # the sets were drawn from.
    assert sum(f["sentences"] for f in provenance["sources"]) == provenance["counts"]["pool_after_cap"]
    assert provenance["counts"]["pool_after_cap"] >= len(calibration) + len(evaluation)
    assert all(len(f["sha256"]) == 64 and f["sentences"] > 0 for f in provenance["sources"])


def test_sets_rebuild_byte_for_byte_from_the_recorded_sources(sets, tmp_path):
    paths, problems = sets.recorded_sources(SETS)
    if problems:
        pytest.skip(f"the recorded source texts are not all on this machine ({len(problems)} differ, "
                    f"e.g. {problems[0]}), so a byte-identical rebuild is impossible here")
    rebuilt = sets.build(tmp_path, paths)
    for name in (sets.CALIBRATION_FILE, sets.EVALUATION_FILE):
        assert (tmp_path / name).read_bytes() == (SETS / name).read_bytes(), name
    recorded = json.loads((SETS / sets.PROVENANCE_FILE).read_text())
    assert {n: s["sha256"] for n, s in rebuilt["sets"].items()} == \
        {n: s["sha256"] for n, s in recorded["sets"].items()}
    # The rebuild took the same sentences from the same files. (Its counts of
    # files read differ: it reads only the recorded ones.)
    assert rebuilt["sources"] == recorded["sources"]


def test_calibration_and_evaluation_are_disjoint(sets):
    calibration, evaluation = sets.load_sets(SETS)

    def squash(s):  # whitespace and case only
        return " ".join(s.lower().split())

    for key in (str, squash, sets.normalise):
        cal, ev = {key(s) for s in calibration}, {key(s) for s in evaluation}
        assert len(cal) == len(calibration) and len(ev) == len(evaluation), key
        assert not cal & ev, sorted(cal & ev)[:5]


def test_every_sentence_is_prose(sets):
    calibration, evaluation = sets.load_sets(SETS)
    for s in calibration + evaluation:
        assert sets.is_prose(s), s
        assert "://" not in s and "@" not in s and "/" not in s, s


def test_prose_filter_and_splitter(sets):
    assert sets.is_prose("The library reads the configuration file when the program starts.")
    for bad in ("Too short.",
                "See https://example.com for the details of this release today.",
                "Call foo(x) = bar[1] + baz; and then return the value to us.",
                "THIS SOFTWARE IS PROVIDED BY THE AUTHORS AND CONTRIBUTORS AS IS.",
                "the sentence starts in lower case and so it is left out here.",
                "Copyright 2001 the authors of this program and its documentation files."):
        assert not sets.is_prose(bad), bad
    text = ("Intro line of a readme file that explains what the package does.\n"
            "It wraps over two lines, as\nreadme files do.\n\n"
            "    int main(void) { return 0; }\n    more code here in the same block\n\n"
            "Short.\n")
    assert sets.sentences_from_text(text) == [
        "Intro line of a readme file that explains what the package does.",
        "It wraps over two lines, as readme files do."]
    # Normalisation ignores case, whitespace and punctuation.
    assert sets.normalise("The  cat, sat!") == sets.normalise("the cat sat") == "the cat sat"


def test_select_is_deterministic_caps_sources_and_deduplicates(sets):
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()
    sentences = [f"The {a} walked past the {b} near the old house." for a in words for b in words]
    candidates = [("a", sentences[:60]), ("b", [s.upper() for s in sentences[:30]] + sentences[60:100]),
                  ("c", sentences[100:])]
    first = sets.select(candidates, calibration_size=10, evaluation_size=40, max_per_source=20)
    again = sets.select(list(candidates), calibration_size=10, evaluation_size=40, max_per_source=20)
    assert first == again
    calibration, evaluation, per_source, counts = first
    assert per_source == {"a": 20, "b": 20, "c": 20}
    assert counts["pool_after_cap"] == 60
    keys = [sets.normalise(s) for s in calibration + evaluation]
    assert len(set(keys)) == len(keys) == 50
    with pytest.raises(SystemExit):
        sets.select(candidates, calibration_size=10, evaluation_size=60, max_per_source=20)


# ---------------------------------------------------------------------------
# Statistics


def test_bootstrap_of_constant_data_has_zero_width(harness):
    point, low, high = harness.bootstrap_ci(np.full(50, 0.75), resamples=200, seed=1)
    assert point == low == high == 0.75
    point, low, high = harness.bootstrap_ci(np.full(50, 3.0), np.median, resamples=200, seed=1)
    assert point == low == high == 3.0


def test_bootstrap_interval_of_a_proportion_has_the_normal_width(harness):
    values = np.r_[np.zeros(200), np.ones(200)]  # p = 0.5, n = 400: se = 0.025
    point, low, high = harness.bootstrap_ci(values, resamples=2000, seed=3)
    assert point == 0.5
    half = 1.959964 * 0.5 / math.sqrt(400)
    assert low < 0.5 < high
    assert abs((high - low) / 2 - half) < 0.15 * half, (low, high, half)


def test_bootstrap_interval_covers_the_true_mean_about_95_percent(harness):
    rng = np.random.default_rng(7)
    trials, covered = 200, 0
    for trial in range(trials):
        sample = rng.normal(3.0, 2.0, size=40)
        _, low, high = harness.bootstrap_ci(sample, resamples=500, seed=trial)
        covered += low <= 3.0 <= high
    # Percentile bootstrap at n = 40 covers ~93-94 %; 200 trials: sd ~1.7 %.
    assert 0.87 <= covered / trials <= 0.99, covered


def test_rankdata_and_spearman_by_hand(harness):
    assert harness.rankdata([10, 20, 20, 5]).tolist() == [2.0, 3.5, 3.5, 1.0]
    assert harness.spearman([1, 2, 3, 4, 5], [2, 4, 8, 16, 32]) == pytest.approx(1.0)
    assert harness.spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    # Ranks of y: 1, 2, 3.5, 5, 3.5 -> rho = 8 / sqrt(10 * 9.5).
    assert harness.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(8 / math.sqrt(95))


def unit(degrees):
    r = np.radians(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(r), np.sin(r)], axis=1)


def test_top_k_agreement_by_hand(harness):
    # Float at 0, 10, 25, 45, 90 degrees: 2-NN are {1,2} {0,2} {1,3} {2,1} {3,2}.
    # Moving point 2 to 3 degrees gives {1,2} {2,0} {0,1} {1,2} {3,1}.
    reference = unit([0, 10, 25, 45, 90])
    moved = unit([0, 10, 3, 45, 90])
    assert harness.nearest_neighbours(reference, 2).tolist() == [[1, 2], [0, 2], [1, 3], [2, 1], [3, 2]]
    assert harness.top_k_agreement(moved, reference, 2).tolist() == [1.0, 1.0, 0.5, 1.0, 0.5]
    assert harness.top_k_agreement(reference, reference, 2).tolist() == [1.0] * 5


def test_pairwise_spearman_by_hand(harness):
    # Pairs (0,1), (0,2), (1,2): float cosines cos30, cos90, cos60 -> ranks 3, 1, 2;
    # at 0, 60, 90 degrees: cos60, cos90, cos30 -> ranks 2, 1, 3; rho = 1 / 2.
    reference, moved = unit([0, 30, 90]), unit([0, 60, 90])
    identity = np.arange(3)[None, :]
    pairs = harness.PairRankStats(reference, identity)
    assert pairs.point(moved) == pytest.approx(0.5)
    assert pairs.replicates(moved) == pytest.approx([0.5])
    assert pairs.point(reference) == pytest.approx(1.0)


def test_pairwise_spearman_resamples_weight_pairs_by_draws(harness):
    # A resample's rho equals the Pearson correlation of the full-set ranks
    # over every pair of draws of two different sentences (brute force).
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(12, 4))
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    moved = reference + 0.4 * rng.normal(size=reference.shape)
    moved /= np.linalg.norm(moved, axis=1, keepdims=True)
    indices = harness.resample_indices(12, 3, seed=5)
    got = harness.PairRankStats(reference, indices).replicates(moved)
    x, y = harness.pair_ranks(reference), harness.pair_ranks(moved)
    for row, value in zip(indices, got):
        pairs = [(a, b) for a in row for b in row if a != b]
        want = np.corrcoef([x[a, b] for a, b in pairs], [y[a, b] for a, b in pairs])[0, 1]
        assert value == pytest.approx(want, abs=1e-12)
    iu = np.triu_indices(12, 1)
    assert harness.PairRankStats(reference, indices).point(moved) == pytest.approx(
        harness.spearman((reference @ reference.T)[iu], (moved @ moved.T)[iu]))


def test_metrics_and_paired_comparison(harness):
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(30, 6))
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)

    def noisy(scale):
        e = reference + scale * rng.normal(size=reference.shape)
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    indices = harness.resample_indices(30, 300, seed=2)
    same = harness.metrics(reference, reference, indices)
    assert set(same) == set(harness.METRICS)
    for m in same.values():
        assert m.value == pytest.approx(1.0) and m.interval() == pytest.approx((1.0, 1.0))
    close, far = harness.metrics(noisy(0.05), reference, indices), harness.metrics(noisy(0.8), reference, indices)
    for name in harness.METRICS:
        low, high = close[name].interval()
        assert low <= close[name].value <= high, name
        assert harness.compare(close[name], far[name])["verdict"] == "a better", name
        assert harness.compare(far[name], close[name])["verdict"] == "b better", name
    # Identical replicates: the difference is exactly 0, no side is better.
    tie = harness.compare(close["mean_cosine"], close["mean_cosine"])
    assert tie["verdict"] == "no difference shown" and tie["ci95"] == [0.0, 0.0]
    straddle = harness.Metric(0.0, np.linspace(-1, 1, 101))
    assert harness.compare(straddle, harness.Metric(0.0, np.zeros(101)))["verdict"] == "no difference shown"


def test_harness_smoke_float_only(harness, sets, tmp_path):
    # One batch through the real model (seq 16, so that some sentences are
    # truncated): the float row compares equal to itself, nothing else runs.
    calibration, evaluation = sets.load_sets(SETS)
    bench = harness.MiniLMEvalSet(tmp_path, calibration[:16], evaluation[:16], seq_len=16, batch=16)
    assert bench.truncated == sum(n > 14 for n in bench.token_counts) > 0
    result = harness.evaluate(bench, tmp_path, recipes=[], ort_configs=[], resamples=50, log=lambda m: None)
    (row,) = result["rows"]
    assert row["config"] == "float" and row["status"] == "ok" and result["comparisons"] == []
    for m in row["metrics"].values():
        assert m.value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="multiples of the batch"):
        harness.MiniLMEvalSet(tmp_path, calibration[:16], evaluation[:15], seq_len=16, batch=16)
