import numpy as np
import pytest

from emotive.evaluators.speech.trees import TreeEnsemble, fit_trees


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    y = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] + 0.5 * x[:, 2] > 0.3)
    return x, y


def test_export_matches_sklearn_on_new_rows_and_nan():
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, y = _data()
    x[::37, 4] = np.nan
    kw = dict(iters=60, lr=0.1, leaves=7, l2=0.5, max_features=0.5, seed=3)
    ens = fit_trees(x, y, 4, **kw)
    clf = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, max_leaf_nodes=7, l2_regularization=0.5,
                                         max_features=0.5, early_stopping=False, random_state=3).fit(x, y)
    xt, yt = _data(200, seed=1)
    xt[::5, 0] = np.nan  # missing values follow the learnt side
    assert np.allclose(ens.predict_proba(xt), clf.predict_proba(xt), atol=1e-9)
    assert (ens.predict_proba(xt).argmax(1) == yt)[np.isfinite(xt[:, 0])].mean() > 0.8


def test_tensor_round_trip_and_missing_class():
    x, y = _data()
    ens = fit_trees(x, y, 4, iters=20)
    back = TreeEnsemble.from_tensors(ens.to_tensors())
    assert np.array_equal(back.predict_proba(x[:10]), ens.predict_proba(x[:10]))
    assert TreeEnsemble.from_tensors({}) is None
    with pytest.raises(ValueError, match="every class"):
        fit_trees(x[y < 3], y[y < 3], 4, iters=5)
