"""``import models`` is light and exports what a notebook needs."""

import subprocess
import sys

import models


def test_import_models_loads_no_torch_or_pandas():
    code = "import sys, models; print([m for m in ('torch', 'pandas') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_every_exported_name_resolves():
    assert {"load_dataset", "load_model", "save_model", "fit_model", "Dataset", "TrainedModel",
            "MixerConfig", "TrainConfig", "synth"} <= set(models.__all__)
    for name in models.__all__:
        assert getattr(models, name) is not None
    from models.checkpoint import load_model

    assert models.load_model is load_model
    assert callable(models.synth.generate) and callable(models.synth.write_dataset)
