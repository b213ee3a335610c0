"""Mixer-XAI, stage 1: tables of recipes and measurements in, a trained Mixer out.

What a notebook needs, one import away::

    import models

    data = models.synth.generate(seed=0, n_formulations=200)   # or your own folder
    models.synth.write_dataset(data, "data/")
    dataset = models.load_dataset("data/")
    model = models.fit_model(dataset, train_config=models.TrainConfig(epochs=20))
    models.save_model(model, "model/")
    model = models.load_model("model/")

Attributes are loaded on first use, so ``import models`` stays light (no torch or pandas until
they are needed).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["synth"],
    submod_attrs={
        "data": ["Dataset", "DataError", "load_dataset"],
        "checkpoint": ["load_model", "save_model"],
        "pipeline": ["fit_model"],
        "trained": ["TrainedModel"],
        "mixer": ["MixerConfig"],
        "training": ["TrainConfig"],
    },
)
