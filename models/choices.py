"""Names and defaults the command line offers, free of heavy imports.

The parsers of ``xai CMD --help`` read these without importing torch, pandas, scikit-learn or
Optuna; the modules that implement each choice import them back from here, so a name exists once.
"""

# models.baselines fits these
BASELINES = ("ridge", "random_forest", "gradient_boosting", "ideal_mixing")
RARE_MODES = ("merge", "drop")  # models.rare_ingredients: how rare ingredients are cut
CV_METHODS = ("kfold", "random")  # models.cv: k folds or repeated random splits
DEFAULT_FRACTIONS = (0.1, 0.25, 0.5, 1.0)  # models.learning_curve: shares of training recipes
DEFAULT_VARIANTS = (  # models.ablation: design variants compared with the default
    "amount_encoding=concat",
    "amount_encoding=fourier",
    "layer_norm=true",
    "code_activation=tanh",
    "rare_cut=1",
    "rare_cut=2",
)
REDUCTION_STRATEGIES = ("nearest", "group")  # models.reduction: where rare ingredients merge
SAMPLERS = ("tpe", "random", "grid")  # models.sweep: Optuna samplers
DEFAULT_EPOCHS = 120  # models.training.TrainConfig.epochs
# models.structured_splits: cross-validation that leaves a kind of recipe out
STRUCTURED_SPLITS = ("ingredient", "group", "size")
