from preprocess.defaults import ARCHITECTURES
from trainer.models import BUILDERS, build


def test_every_architecture_the_cli_offers_builds_a_model_with_one_output_per_class():
    assert set(BUILDERS) == set(ARCHITECTURES)
    for architecture in ARCHITECTURES:
        assert build(architecture, width=12, n_classes=3).output_shape == (None, 3)
