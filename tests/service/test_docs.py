"""The service's documentation: the OpenAPI page shows every schema with a real example record per
dataset, and the README's settings table lists every setting."""

import re
from pathlib import Path

from service.core.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def _examples(schema: dict, path: str) -> dict:
    return schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]


def test_openapi_carries_real_records_of_every_dataset(client, examples):
    schema = client.get("/openapi.json").json()
    single, batch = _examples(schema, "/predict"), _examples(schema, "/predict/batch")
    for dataset, by_class in examples.items():
        for label, record in by_class.items():
            assert single[f"{dataset}: {label}"]["value"] == {"dataset": dataset, "record": record}
        assert batch[dataset]["value"]["records"] == list(by_class.values())
    record_schemas = [name for name in schema["components"]["schemas"] if name.endswith("Record")]
    assert len(record_schemas) == len(examples)
    for name in record_schemas:
        assert schema["components"]["schemas"][name]["additionalProperties"] is False
        assert schema["components"]["schemas"][name]["examples"]


def test_docs_page_and_bearer_scheme(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/auth/token"


def test_readme_settings_table_lists_every_setting_and_no_other():
    section = README.read_text().split("## The service", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(NIDS_[A-Z_]+)`", section))
    assert documented == {f"NIDS_{name.upper()}" for name in Settings.model_fields}
