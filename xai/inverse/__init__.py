"""Inverse design: diverse recipes that reach property targets, each with its evidence.

``design(model, dataset, ["viscosity_4pin_10rpm=18000..22000", "ph=5.5..6.5"])`` searches the
recipe space with NSGA-II (pymoo) and recipe-aware operators, compares it with random search and
Optuna's TPE at the same budget, and returns a :class:`DesignResult`.
"""

from xai.inverse.api import design
from xai.inverse.diversity import Diversity
from xai.inverse.problem import DesignSpace, build_space, check_recipe
from xai.inverse.result import (
    Design,
    DesignConfig,
    DesignResult,
    MethodScore,
    PropertyPrediction,
    Trust,
    strict_json,
)
from xai.inverse.targets import DesignError, Target, TargetError, parse_target

__all__ = ["Design", "DesignConfig", "DesignError", "DesignResult", "DesignSpace", "Diversity",
           "MethodScore", "PropertyPrediction", "Target", "TargetError", "Trust", "build_space",
           "check_recipe", "design", "parse_target", "strict_json"]
