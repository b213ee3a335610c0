"""The orchestration behind explain, represent, audit and review: analysers called in order,
results gathered as JSON-able data; no mathematics of its own."""
