"""Numbers of the attribution methods that the command line shows, free of heavy imports."""

FIRST_ROUND = 64  # permutations a sampled Shapley case starts with when sampling to a target SE
SAMPLERS = ("kernel", "permutation")  # how a sampled Shapley case spends its budget
