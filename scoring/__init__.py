"""Pure customer-health scoring: metrics -> dimension scores -> health score, band, drivers, action.

Values in, values out: no I/O apart from reading the model file, no clock (pass `as_of`), no database.
Imports: numpy everywhere; pyyaml only in `config`; scipy only in `backtest` (bounded L-BFGS-B for the
non-negative logistic regression; scikit-learn is not used).

The pipeline's calls
--------------------
Load the model once (per tenant, if tenants may have their own)::

    from scoring.config import load_model, load_default_model, ScoringConfigError
    model = load_default_model()            # scoring/default_model.yaml
    model = load_model(path_or_yaml_text)   # raises ScoringConfigError(problems: list[str]) listing
                                            # every problem as "<key.path>: <what is wrong>"
    model.version                           # "version:" from the file, else "sha256:<12 hex>" of content
    model.metrics                           # MetricSpec per metric: name, unit, lookback_days, ...

Score the whole tenant book in one call (percentile metrics rank within the batch, so pass every
account, not one)::

    from scoring.engine import score_accounts
    from scoring.types import AccountSignals, BandState, HealthResult
    results: list[HealthResult] = score_accounts(
        model,
        [AccountSignals(account_id="001..", metrics={"csat_avg_90d": 4.2, "nps_score": None, ...},
                        arr=Decimal("120000"), plan="growth", segment="mid_market"), ...],
        as_of,                              # timezone-aware UTC datetime
        previous={account_id: BandState(band="green", since=...)},   # from the last snapshot, or None
    )
    # HealthResult: account_id, as_of, score (0..100, 1 dp, None = no data), band (after hysteresis),
    # raw_band, band_state (persist it; pass back next time), dimensions (DimensionScore per dimension),
    # drivers (top N Driver: metric, dimension, direction "up"/"down", impact points, value, text),
    # confidence (0..1), recommended_action, model_version, segment.

`signals` may instead be a `scoring.engine.SignalColumns` (account_ids, metrics name -> array, arr,
plan, segment) when the pipeline already holds columns. Metric names missing from `metrics` mean no data.

To re-score ONE account (e.g. after an inbound webhook) consistently with the last full pass, keep
`percentile_reference(model, segment_idx, metrics)` from that pass and pass it as `reference=`.

Columnar fast path (what the benchmark measures)::

    from scoring.engine import select_segments, score_matrix
    seg = select_segments(model, arr_array, plan_list, segment_list)       # -> (n,) segment index
    arrays = score_matrix(model, seg, {"csat_avg_90d": np.array([...]), ...}, detail=False)
    # arrays.score (n,), raw_band (n,) index into model.segments[seg].bands (-1 = no data),
    # dimensions (n, D), dimension_weight, dimension_coverage, confidence (n,),
    # drivers (n, K) metric indices into model.metrics (-1 = none), driver_impact (n, K);
    # detail=True adds normalised and impact (n, M).

Bands, trend, events::

    from scoring.bands import band_for, next_band, next_band_for
    # next_band(previous, score, as_of, bands, hysteresis); next_band_for(model, segment, previous, score, as_of)
    from scoring.trend import trend, score_changed   # trend(history [(datetime, score)], score, as_of)
    score_changed(previous_score, score, model.score_changed_delta)   # -> bool, for score_changed events

A band change is `result.band_state.band != previous[account_id].band` (and `since == as_of`).

Backtest and weight tuning::

    from scoring.backtest import backtest, suggest_weights
    report = backtest(scores, bands, churned, band_order=[b.name for b in model.default_segment.bands])
    # report.auc, .bands (churn per band), .lift (lowest band vs highest), .calibration (deciles)
    weights, auc_before, auc_after = suggest_weights(dimension_matrix, churned, folds=5, seed=0,
                                                     current_weights=model.default_segment.weights)

Modules: types (value objects), model (validated model), config (YAML -> model), features (NPS,
time-decayed mean, normalisers), normalise + kernel (the vectorised core), engine (public scoring API),
bands, drivers, actions, trend, backtest.
"""
