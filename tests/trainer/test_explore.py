from trainer.datasets import DATASETS
from trainer.explore import explore


def test_explore_writes_class_tables_and_charts_for_every_dataset(tmp_path, data_dir):
    page = explore(data_dir, tmp_path, limit_rows=2000)
    text = page.read_text()
    for name, spec in DATASETS.items():
        assert f"## {name}" in text
        assert (tmp_path / f"{name}-classes.png").stat().st_size > 1000
        assert all(f"| {feature} |" in text for feature in spec.features)
    assert "| KDDTest-21.txt.gz | 2000 |" in text  # the second official test set is summarised too
