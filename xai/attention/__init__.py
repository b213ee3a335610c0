"""Where the property token looks: per-layer attention maps, rollout and the share read from the
recipe."""
