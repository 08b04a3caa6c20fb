"""A tiny scikit-learn-style linear model (``fit`` / ``predict``) in plain numpy."""

from __future__ import annotations

from typing import Any

import numpy as np


class LinearModel:
    """Ordinary least squares with an intercept, exposing ``coef_`` / ``intercept_``.

    Any object with a ``predict(X) -> array`` method (a fitted scikit-learn estimator,
    say) can take its place in :class:`~tradeloop_plugin_pymodel.PyModel`.
    """

    def __init__(self, coef: Any = None, intercept: float = 0.0) -> None:
        self.coef_ = None if coef is None else np.asarray(coef, np.float64)
        self.intercept_ = float(intercept)

    def fit(self, X: Any, y: Any) -> LinearModel:
        """Fit by least squares; returns ``self`` like scikit-learn."""
        x = np.asarray(X, np.float64)
        t = np.asarray(y, np.float64)
        if x.ndim != 2 or t.shape != (x.shape[0],):
            raise ValueError(f"fit: X must be 2-D and y 1-D of the same length, got {x.shape} and {t.shape}")
        design = np.hstack([x, np.ones((x.shape[0], 1))])
        sol, *_ = np.linalg.lstsq(design, t, rcond=None)
        self.coef_ = np.asarray(sol[:-1], np.float64)
        self.intercept_ = float(sol[-1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for the rows of ``X``."""
        if self.coef_ is None:
            raise RuntimeError("LinearModel: predict before fit (or pass coef)")
        x = np.asarray(X, np.float64)
        if x.ndim != 2 or x.shape[1] != self.coef_.size:
            raise ValueError(f"predict: X must have shape (n, {self.coef_.size}), got {x.shape}")
        return x @ self.coef_ + self.intercept_
