"""Whether attributions can be trusted: completeness, agreement between methods, the
model-randomisation check, deletion curves, reference implementations, global views and
stability across the members of a cross-fitted ensemble."""
