"""Adding a benchmark is one record (curiosft.benchmarks): a test-only benchmark goes from its source file to
the config check, the prepared parquet, the records and the tables, with nothing else registered.

It is an out-of-distribution *math* benchmark, which the old registry (split derived from the answer kind)
could not express.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from curiosft.benchmarks import (
    Benchmark,
    HubSource,
    benchmark_order,
    get_benchmark,
    register_benchmark,
    unregister_benchmark,
)
from curiosft.config import compose_config
from curiosft.errors import ConfigError

TOY = Benchmark("toy_ood_math", "math", "ood", "Toy-OOD",
                HubSource("example/toy-ood-math", "math", columns={"question": "q", "answer": "a"}), samples=3)


@pytest.fixture()
def toy():
    register_benchmark(TOY)
    yield TOY
    unregister_benchmark(TOY.name)


def test_the_record_is_all_the_registry_needs(toy):
    from curiosft.data.registry import get_spec, hub_benchmarks

    assert get_benchmark("toy_ood_math").split == "ood"
    assert benchmark_order(["toy_ood_math", "tiny_id", "tiny_mc"]) == ["tiny_id", "tiny_mc", "toy_ood_math"]
    spec = get_spec("toy_ood_math")
    assert (spec.hub_id, spec.layout, spec.kind, spec.columns) == ("example/toy-ood-math", "math", "math",
                                                                   {"question": "q", "answer": "a"})
    assert "toy_ood_math" in hub_benchmarks()
    # its default samples per prompt reach the config
    cfg = compose_config(["experiment=smoke", "eval.benchmarks=[tiny_id,toy_ood_math]"])
    assert cfg.eval.n_samples_per_benchmark["toy_ood_math"] == 3


def test_unknown_benchmark_names_fail_at_config_time():
    with pytest.raises(ConfigError, match="unknown eval.benchmarks 'toy_ood_math'; choose one of .*math500"):
        compose_config(["experiment=smoke", "eval.benchmarks=[tiny_id,toy_ood_math]"])
    with pytest.raises(ConfigError, match="unknown eval.curve.benchmarks 'aime23'"):
        compose_config(["experiment=smoke", "eval.curve.benchmarks=[aime23]"])
    with pytest.raises(ConfigError, match="unknown eval.n_samples_per_benchmark 'gpqa'"):
        compose_config(["experiment=smoke", "+eval.n_samples_per_benchmark.gpqa=2"])


def test_records_and_tables_of_a_new_benchmark(toy, tmp_path):
    from curiosft.data.prepare import prepare_dataset
    from curiosft.evaluation.synthetic import write_synthetic_results
    from curiosft.report.build import build_report

    source = tmp_path / "toy.jsonl"
    pd.DataFrame({"q": ["What is 2+3?", "What is 4+4?"], "a": ["5", "8"]}).to_json(source, orient="records",
                                                                                   lines=True)
    prepare_dataset("toy_ood_math", tmp_path / "benchmarks", local=str(source))
    prepared = pd.read_parquet(tmp_path / "benchmarks" / "toy_ood_math.parquet")
    assert list(prepared["reward_model"].map(lambda r: r["ground_truth"])) == ["5", "8"]
    assert set(prepared["data_source"]) == {"toy_ood_math"} and set(prepared["ability"]) == {"math"}

    records, metrics = write_synthetic_results(tmp_path / "results", benchmarks=("tiny_id", "toy_ood_math"),
                                               seeds=(1,))
    first = json.loads(records[1].read_text().splitlines()[0])
    assert (first["benchmark"], first["split"], first["kind"]) == ("toy_ood_math", "ood", "math")
    build_report(records=records, training_metrics=metrics, out=tmp_path / "paper", what="tables")
    in_dist = (tmp_path / "paper" / "tables" / "in_distribution.md").read_text()
    out_dist = (tmp_path / "paper" / "tables" / "out_of_distribution.md").read_text()
    assert "Toy-OOD" in out_dist and "Toy-OOD" not in in_dist and "Tiny-ID" in in_dist


def test_a_record_states_one_source_and_known_facts():
    with pytest.raises(ValueError, match="exactly one of source"):
        Benchmark("x", "math", "id", "X")
    with pytest.raises(ValueError, match="split 'test' is not one of id, ood"):
        Benchmark("x", "math", "test", "X", world_file="x.parquet")
    with pytest.raises(ValueError, match="kind 'free_text'"):
        Benchmark("x", "free_text", "id", "X", world_file="x.parquet")
    with pytest.raises(ValueError, match="already registered"):
        register_benchmark(Benchmark("math500", "math", "ood", "M", world_file="m.parquet"))
