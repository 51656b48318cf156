"""Real data preparation: converters on fixtures in each source's real column layout; offline behaviour."""

from __future__ import annotations

import json
import subprocess
import time

import pandas as pd
import pytest

from curiosft.data.fetch import HubUnreachable, check_hub_reachable
from curiosft.data.prepare import prepare_dataset
from curiosft.data.prompts import CHOICE_INSTRUCTION, MATH_INSTRUCTION
from curiosft.data.registry import TRAINING_SETS, get_spec, hub_benchmarks, registry

LUFFY_SYSTEM = "Your task is to follow a systematic, thorough reasoning process before providing the final answer."

# One or two rows per source, with the columns (and nesting) the hub files really have.
FIXTURES: dict[str, list[dict]] = {
    "openr1_math_46k": [
        {
            "data_source": "openr1",
            "prompt": [{"role": "system", "content": LUFFY_SYSTEM}, {"role": "user", "content": "Compute 2+3."}],
            "target": [{"role": "assistant", "content": "<think>\n2+3=5\n</think>\n\\boxed{5}"}],
            "ability": "math",
            "reward_model": {"ground_truth": "5", "style": "rule"},
            "extra_info": {"index": 0, "split": "default"},
        }
    ],
    "limo": [{"question": "What is 7*6?", "solution": "7*6=42, so \\boxed{42}.", "answer": "42"}],
    # MATH-500's layout; the registered split keeps rows 100-499 (the first 100 are evaluated, never trained on)
    "math500_solutions": [{"problem": f"What is {i}+{i}?", "solution": f"{i}+{i} = {2 * i}, so \\boxed{{{2 * i}}}.",
                           "answer": str(2 * i), "subject": "Algebra", "level": 1, "unique_id": f"x/{i}.json"}
                          for i in range(102)],
    "aime24": [{"id": 60, "problem": "Find x.", "solution": "...", "answer": "204", "url": "u", "year": "2024"}],
    "aime25": [{"problem": "Find y.", "answer": "70", "id": "0"}],
    "amc23": [{"id": 0, "question": "How many?", "answer": 27.0, "url": "u"}],
    "math500": [{"problem": "Simplify 1/2+1/2.", "solution": "...", "answer": "1", "subject": "Algebra",
                 "level": 1, "unique_id": "test/algebra/1.json"}],
    "minerva_math": [{"question": "Compute the mass.", "answer": "3.2e-5"}],
    "olympiadbench": [{"id": 1606, "question": "Find all n.", "solution": ["..."], "final_answer": ["$n=3$"],
                       "context": None, "image_1": None, "modality": "Text-only", "difficulty": "Competition",
                       "is_multiple_answer": False, "unit": None, "answer_type": "Numerical",
                       "error": None, "question_type": "Open-ended", "subfield": "Number Theory",
                       "subject": "Math", "language": "English"}],
    "gpqa_diamond": [{"Pre-Revision Question": "q", "Question": "Which particle?", "Correct Answer": "muon",
                      "Incorrect Answer 1": "pion", "Incorrect Answer 2": "kaon", "Incorrect Answer 3": "tau",
                      "Explanation": "...", "Subdomain": "Physics", "High-level domain": "Physics"}],
    "arc_challenge": [{"id": "Mercury_1", "question": "Which is a metal?",
                       "choices": {"text": ["wood", "iron", "glass", "water"], "label": ["A", "B", "C", "D"]},
                       "answerKey": "B"},
                      {"id": "Mercury_2", "question": "Pick one.",
                       "choices": {"text": ["x", "y", "z"], "label": ["1", "2", "3"]}, "answerKey": "3"}],
    "mmlu_pro": [{"question_id": 70, "question": "Typical advertising ...?",
                  "options": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"], "answer": "I",
                  "answer_index": 8, "cot_content": "", "category": "business", "src": "ori_mmlu-business_ethics"}],
}

EXPECTED_TRUTH = {"aime24": "204", "aime25": "70", "amc23": "27", "math500": "1", "minerva_math": "3.2e-5",
                  "olympiadbench": "n=3", "arc_challenge": "B", "mmlu_pro": "I"}


def test_every_registered_set_has_a_fixture():
    assert set(FIXTURES) == set(registry()) - {"curiosft_data"}  # curiosft_data shares the LUFFY layout
    assert get_spec("curiosft_data").layout == get_spec("openr1_math_46k").layout == "luffy"


@pytest.mark.parametrize("name", sorted(TRAINING_SETS))
def test_training_converters(tmp_path, name):
    fixture = FIXTURES.get(name, FIXTURES["openr1_math_46k"])
    src = tmp_path / "src.parquet"
    pd.DataFrame(fixture).to_parquet(src)
    manifest = prepare_dataset(name, tmp_path / "out", local=str(src))
    rows = get_spec(name).rows
    kept = fixture[rows[0]:rows[1]] if rows else fixture
    assert manifest["files"]["sft_train.parquet"]["rows"] == len(kept)
    sft = pd.read_parquet(tmp_path / "out" / "sft_train.parquet").iloc[0]
    messages = list(sft["messages"])
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[0]["content"] == MATH_INSTRUCTION
    assert LUFFY_SYSTEM not in messages[1]["content"]
    rl = pd.read_parquet(tmp_path / "out" / "rl_train.parquet").iloc[0]
    assert rl["reward_model"]["ground_truth"] in ("5", "42", "200") and rl["data_source"] == name
    saved = json.loads((tmp_path / "out" / f"manifest.{name}.json").read_text())
    assert saved["source"]["local"].endswith("src.parquet")


@pytest.mark.parametrize("name", sorted(hub_benchmarks()))
def test_benchmark_converters(tmp_path, name):
    src = tmp_path / "src.jsonl"
    pd.DataFrame(FIXTURES[name]).to_json(src, orient="records", lines=True)
    prepare_dataset(name, tmp_path, local=str(src))
    df = pd.read_parquet(tmp_path / f"{name}.parquet")
    row = df.iloc[0]
    assert len(df) == len(FIXTURES[name])
    assert list(df.columns) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    assert row["data_source"] == name and row["ability"] == get_spec(name).kind
    if name in EXPECTED_TRUTH:
        assert row["reward_model"]["ground_truth"] == EXPECTED_TRUTH[name]
    if row["ability"] == "multiple_choice":
        assert row["prompt"][0]["content"] == CHOICE_INSTRUCTION
        choices = list(row["extra_info"]["choices"])
        letter = row["reward_model"]["ground_truth"]
        assert f"({letter}) {choices['ABCDEFGHIJ'.index(letter)]}" in row["prompt"][1]["content"]


def test_arc_numeric_labels_become_letters(tmp_path):
    pd.DataFrame(FIXTURES["arc_challenge"]).to_parquet(tmp_path / "arc.parquet")
    prepare_dataset("arc_challenge", tmp_path, local=str(tmp_path / "arc.parquet"))
    row = pd.read_parquet(tmp_path / "arc_challenge.parquet").iloc[1]
    assert row["reward_model"]["ground_truth"] == "C"
    assert "(C) z" in row["prompt"][1]["content"]


def test_gpqa_correct_answer_is_placed_reproducibly(tmp_path):
    rows = FIXTURES["gpqa_diamond"] * 12
    pd.DataFrame(rows).to_parquet(tmp_path / "g.parquet")
    prepare_dataset("gpqa_diamond", tmp_path / "a", local=str(tmp_path / "g.parquet"))
    prepare_dataset("gpqa_diamond", tmp_path / "b", local=str(tmp_path / "g.parquet"))
    a = pd.read_parquet(tmp_path / "a" / "gpqa_diamond.parquet")
    b = pd.read_parquet(tmp_path / "b" / "gpqa_diamond.parquet")
    letters = [rm["ground_truth"] for rm in a["reward_model"]]
    assert letters == [rm["ground_truth"] for rm in b["reward_model"]]
    assert len(set(letters)) > 1, "the correct answer must not always be (A)"
    for rm, info in zip(a["reward_model"], a["extra_info"]):
        assert info["choices"]["ABCD".index(rm["ground_truth"])] == "muon"


def test_wrong_layout_names_the_missing_columns(tmp_path):
    pd.DataFrame([{"prompt": "x"}]).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"math500: source rows lack column\(s\) \['problem', 'answer'\]"):
        prepare_dataset("math500", tmp_path / "out", local=str(tmp_path / "bad.parquet"))
    assert not (tmp_path / "out" / "math500.parquet").exists()


def test_offline_fails_fast_and_says_how_to_use_local_files(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnreachable, match="--local PATH"):
        check_hub_reachable(get_spec("limo"))
    monkeypatch.delenv("HF_HUB_OFFLINE")
    # an endpoint nobody listens on: refused at once, not minutes of retries
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    start = time.perf_counter()
    with pytest.raises(HubUnreachable, match="cannot reach 127.0.0.1:9 to download 'aime24'"):
        check_hub_reachable(get_spec("aime24"))
    assert time.perf_counter() - start < 10


def test_cli_prepare_data_offline_exits_with_the_fix(python, tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([python, "-m", "curiosft.cli", "prepare-data", "math500", "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0
    assert "curiosft prepare-data math500 --local PATH" in proc.stderr
    assert not list(tmp_path.iterdir())


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(KeyError, match="unknown data set 'math5000'; choose one of"):
        get_spec("math5000")


def test_olympiadbench_golds_keep_an_escaped_dollar_and_every_answer(tmp_path):
    """OlympiadBench's final_answer is a list of `$...$` strings (several when is_multiple_answer): the math
    delimiters are dropped, a currency `\\$` is kept (it was read as `\\36`), and every answer is kept (issue 28)."""
    rows = [FIXTURES["olympiadbench"][0] | {"final_answer": ["$\\$36$"]},
            FIXTURES["olympiadbench"][0] | {"final_answer": ["$(1,2)$", "$(2,1)$"], "is_multiple_answer": True}]
    src = tmp_path / "src.parquet"
    pd.DataFrame(rows).to_parquet(src)
    prepare_dataset("olympiadbench", tmp_path / "out", local=str(src))
    golds = [r["ground_truth"] for r in pd.read_parquet(tmp_path / "out" / "olympiadbench.parquet")["reward_model"]]
    assert golds == ["\\$36", "(1,2), (2,1)"]


# ------------------------------------------------------------------------------------ your own file
OWN_ROWS = [
    {"problem": "What is 2+3?", "solution": "2+3 = 5, so the answer is $\\boxed{5}$.", "level": 1},
    {"problem": "What is 7*6?", "solution": "7*6 = 42. \\boxed{42}", "level": 1},
    {"problem": "Compute 10-4.", "solution": "10-4 = 6, giving \\boxed{6}.", "level": 2},
]


def test_your_own_question_solution_file(tmp_path, python, repo):
    """docs/real_data.md's worked example: a 3-row jsonl through `curiosft prepare-data --from-file`, then the
    SFT job's own row check accepts it."""
    import subprocess

    from curiosft.preflight import check_sft_rows

    source = tmp_path / "mine.jsonl"
    pd.DataFrame(OWN_ROWS).to_json(source, orient="records", lines=True)
    proc = subprocess.run([python, "-m", "curiosft.cli", "prepare-data", "--from-file", str(source), "--question",
                           "problem", "--out", str(tmp_path / "mine")], capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "sft_train.parquet: 3 rows" in proc.stdout and "rl_train.parquet: 3 rows" in proc.stdout
    sft = pd.read_parquet(tmp_path / "mine" / "sft_train.parquet")
    messages = list(sft["messages"][1])
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[0]["content"] == MATH_INSTRUCTION and messages[2]["content"] == OWN_ROWS[1]["solution"]
    rl = pd.read_parquet(tmp_path / "mine" / "rl_train.parquet")
    assert [r["ground_truth"] for r in rl["reward_model"]] == ["5", "42", "6"]  # each solution's last \boxed{}
    assert check_sft_rows(tmp_path / "mine" / "sft_train.parquet") == 3
    manifest = json.loads((tmp_path / "mine" / "manifest.mine.json").read_text())
    assert manifest["source"]["columns"] == {"question": "problem", "solution": "solution", "answer": ""}


def test_your_own_file_errors_name_the_column_or_row(tmp_path):
    from curiosft.data.prepare import prepare_own_file
    from curiosft.errors import InputDataError

    source = tmp_path / "mine.jsonl"
    pd.DataFrame(OWN_ROWS).to_json(source, orient="records", lines=True)
    with pytest.raises(InputDataError, match=r"lack column\(s\) \['question'\] \(found \['problem', 'solution', 'level'\]\)"):
        prepare_own_file(source, tmp_path / "a")
    rows = [*OWN_ROWS, {"problem": "What is 1+1?", "solution": "It is 2.", "level": 1}]
    pd.DataFrame(rows).to_json(source, orient="records", lines=True)
    with pytest.raises(InputDataError, match=r"mine row 3: no answer \(the solution has no \\boxed\{\}\)"):
        prepare_own_file(source, tmp_path / "b", question="problem")
    rows = [*OWN_ROWS, {"problem": "What is 1+1?", "solution": "", "level": 1}]
    pd.DataFrame(rows).to_json(source, orient="records", lines=True)
    with pytest.raises(InputDataError, match="mine row 3: column 'solution' is empty"):
        prepare_own_file(source, tmp_path / "c", question="problem")
    # an answer column wins over the boxed
    pd.DataFrame([{**r, "final": str(i)} for i, r in enumerate(OWN_ROWS)]).to_json(source, orient="records", lines=True)
    prepare_own_file(source, tmp_path / "d", question="problem", answer="final", name="ours")
    rl = pd.read_parquet(tmp_path / "d" / "rl_train.parquet")
    assert [r["ground_truth"] for r in rl["reward_model"]] == ["0", "1", "2"] and set(rl["data_source"]) == {"ours"}
