"""The late-label bench: the weighted estimate undoes the review sampling; the test and its
interval err on the safe side."""

from __future__ import annotations

from evals.bench.late_labels import run


def test_the_weighted_accuracy_is_unbiased_where_the_raw_share_is_not_and_the_test_is_valid():
    # seeded; 4,000 trials gave bias 0.001 (raw share -0.110), coverage 0.98, false alarms
    # 0.013 / 0.0012 / 0 at 0.05 / 0.01 / 0.001 for windows of 150
    result = run(trials=400, seed=3)
    for calm in result["calm"]:
        assert abs(calm["bias"]) < 0.01 and calm["raw_share_bias"] < -0.08
        assert calm["ci95_coverage"] >= 0.93
        assert calm["false_alarm_rate"]["0.05"] <= 0.05
    daily = [p for p in result["power"] if p["window"] == 3600]
    assert daily[-1]["power"] > daily[0]["power"]  # a larger drop is found more often
