"""Whether attributions can be trusted: completeness, agreement between methods, the
model-randomisation check, deletion curves, reference implementations and global views."""
