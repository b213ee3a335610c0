"""Benchmarks (not tests): speed and accuracy of the attribution methods against shap and captum,
training time, and the cost of ``xai report`` at scale. ``python -m bench.run`` measures and
rewrites ``BENCHMARKS.md``; every figure there comes from the run that wrote it."""
