"""Regression metrics in a property's original units."""

from __future__ import annotations

import numpy as np


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, R^2 and n. R^2 is NaN when the targets have no variance or n < 2."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    n = len(y_true)
    if n == 0:
        return {"n": 0, "mae": float("nan"), "rmse": float("nan"), "r2": float("nan")}
    error = y_pred - y_true
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = 1.0 - float(np.sum(error**2)) / total if n > 1 and total > 0 else float("nan")
    return {
        "n": n,
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "r2": r2,
    }
