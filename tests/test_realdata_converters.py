"""The converters on real benchmark files in their public layouts (../shared/realdata, never copied in).

Each file goes through `prepare_dataset(name, out, local=FILE)`, which is what
`curiosft prepare-data NAME --local FILE` runs; every row is compared with its source row, read
independently (json), not through pandas.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from curiosft.data.prepare import prepare_dataset
from curiosft.data.prompts import CHOICE_INSTRUCTION, LETTERS, MATH_INSTRUCTION

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"

if not REALDATA.is_dir():
    pytest.skip(f"no real benchmark files at {REALDATA}", allow_module_level=True)

ROWS = {"aime24": 30, "aime25": 30, "amc23": 40, "math500": 500, "minerva_math": 272, "arc_challenge": 1172}
# the question's key in each source layout (see ../shared/realdata/README.md)
QUESTION_KEY = {"aime24": "problem", "aime25": "problem", "amc23": "question", "math500": "problem",
                "minerva_math": "question"}
MATH_SETS = sorted(QUESTION_KEY)


def source_file(name: str) -> Path:
    return REALDATA / name / "test.jsonl"


def source_rows(name: str) -> list[dict]:
    with open(source_file(name)) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def answer_as_text(value) -> str:
    """What a source answer must become: int 70 -> "70", float 27.0 -> "27", 2.5 -> "2.5", str as is."""
    assert not isinstance(value, bool) and value is not None, value
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> dict[str, tuple[dict, pd.DataFrame, Path]]:
    """Every real file prepared once: name -> (manifest returned, rows written, output folder)."""
    out = tmp_path_factory.mktemp("realdata")
    result = {}
    for name in ROWS:
        manifest = prepare_dataset(name, out / name, local=str(source_file(name)))
        result[name] = (manifest, pd.read_parquet(out / name / f"{name}.parquet"), out / name)
    return result


def test_every_realdata_file_is_covered():
    present = {p.parent.name for p in REALDATA.glob("*/test.jsonl")}
    assert present == set(ROWS), f"realdata folders {sorted(present)} vs tested {sorted(ROWS)}"


@pytest.mark.parametrize("name", sorted(ROWS))
def test_row_counts_and_manifest(prepared, name):
    manifest, df, out = prepared[name]
    src = source_rows(name)
    assert len(src) == ROWS[name]
    assert len(df) == ROWS[name]
    assert list(manifest["files"]) == [f"{name}.parquet"]
    assert manifest["files"][f"{name}.parquet"]["rows"] == ROWS[name]
    saved = json.loads((out / f"manifest.{name}.json").read_text())
    assert saved == manifest
    assert saved["name"] == name and saved["source"] == {"local": str(source_file(name).resolve())}
    assert list(df.columns) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    assert set(df["data_source"]) == {name}
    assert [info["index"] for info in df["extra_info"]] == list(range(ROWS[name]))
    assert {info["split"] for info in df["extra_info"]} == {"test"}


@pytest.mark.parametrize("name", MATH_SETS)
def test_math_answers_and_prompts_match_the_source_row_by_row(prepared, name):
    manifest, df, _ = prepared[name]
    src = source_rows(name)
    # code-written golds become LaTeX once, here (curiosft.scoring.golds); the manifest names each one
    normalised = {g["index"]: g for g in manifest["golds"][f"{name}.parquet"]["normalised"]}
    for i, (row, prompt, truth, info) in enumerate(
        zip(src, df["prompt"], df["reward_model"], df["extra_info"])
    ):
        gt = truth["ground_truth"]
        assert isinstance(gt, str) and gt.strip(), f"{name} row {i}: ground truth {gt!r}"
        written = normalised[i]["from"] if i in normalised else gt
        assert written == answer_as_text(row["answer"]), f"{name} row {i}: {gt!r} vs source {row['answer']!r}"
        question = row[QUESTION_KEY[name]]
        assert [m["role"] for m in prompt] == ["system", "user"]
        assert prompt[0]["content"] == MATH_INSTRUCTION
        assert question.strip() in prompt[1]["content"], f"{name} row {i}: question missing from the prompt"
        assert info["question"] == question.strip() and list(info["choices"]) == []
    assert set(df["ability"]) == {"math"}


def test_code_written_golds_become_latex_and_unparsed_golds_are_listed(prepared):
    """Minerva writes three golds as Python (`-1./3`, `-3./2`, `np.arcsin(10/13)`): no model answer matched them.
    They are normalised once, and the golds the grader cannot parse whole are listed for the user."""
    from curiosft.scoring.math import grade_math

    golds = prepared["minerva_math"][0]["golds"]["minerva_math.parquet"]
    assert {g["from"]: g["to"] for g in golds["normalised"]} == {
        "np.arcsin(10/13)": "\\arcsin(10/13)", "-1./3": "-1/3", "-3./2": "-3/2",
        # a math-mode break left inside a gold (row 72)
        "x_{0} \\cos (\\omega t)+$ $\\dot{x}_{0} \\sin (\\omega t) / \\omega":
            "x_{0} \\cos (\\omega t)+ \\dot{x}_{0} \\sin (\\omega t) / \\omega"}
    truths = [rm["ground_truth"] for rm in prepared["minerva_math"][1]["reward_model"]]
    for g in golds["normalised"]:
        assert truths[g["index"]] == g["to"]
    assert grade_math("So $\\boxed{-\\frac{1}{3}}$.", truths[38])[0] == 1.0
    assert grade_math("$\\boxed{\\sin^{-1}(10/13)}$", truths[5])[0] == 1.0
    assert grade_math("$\\boxed{-\\frac{1}{2}}$", truths[38])[0] == 0.0
    assert grade_math("$\\boxed{x_0\\cos(\\omega t) + \\frac{\\dot{x}_0}{\\omega}\\sin(\\omega t)}$", truths[72])[0] == 1.0
    unparsed = {g["index"]: g for g in golds["unparsed"]}
    assert 261 in unparsed and 268 in unparsed, unparsed  # the physics golds math-verify parses as a fragment
    assert unparsed[268]["problem"].startswith("parsed partly")
    assert len(unparsed) < 20, unparsed  # the rest parse whole
    for name in MATH_SETS:
        report = prepared[name][0]["golds"][f"{name}.parquet"]
        assert report["rows"] == ROWS[name]
        if name != "minerva_math":
            assert report == {"rows": ROWS[name], "normalised": [], "unparsed": []}, name
    assert prepared["arc_challenge"][0]["golds"] == {}  # letters: nothing to parse


def test_aime25_integer_answers_become_text(prepared):
    src = source_rows("aime25")
    assert all(type(r["answer"]) is int for r in src)  # the layout this test is about
    truths = [rm["ground_truth"] for rm in prepared["aime25"][1]["reward_model"]]
    assert truths[0] == "70"
    assert truths == [str(r["answer"]) for r in src]


def test_aime24_keeps_answers_as_written(prepared):
    truths = [rm["ground_truth"] for rm in prepared["aime24"][1]["reward_model"]]
    assert truths[0] == "204"
    assert "025" in truths  # a string answer is not parsed as a number


def test_amc23_float_answers_lose_the_trailing_zero(prepared):
    src = source_rows("amc23")
    assert all(type(r["answer"]) is float and r["answer"].is_integer() for r in src)
    truths = [rm["ground_truth"] for rm in prepared["amc23"][1]["reward_model"]]
    assert truths[0] == "27" and not any(t.endswith(".0") for t in truths)
    assert truths == [str(int(r["answer"])) for r in src]
    assert "-1" in truths  # the negative one stays negative


def test_non_integer_float_answers_keep_their_value(tmp_path):
    """AMC23's real rows given non-integer float answers (no real row has one): the exact value survives."""
    values = [27.25, 3.3333333333333335, 1.0000000000000002, 1e-05, -0.5]
    rows = source_rows("amc23")[: len(values)]
    src = tmp_path / "amc23_fractional.jsonl"
    src.write_text("".join(json.dumps({**row, "answer": v}) + "\n" for row, v in zip(rows, values)))
    prepare_dataset("amc23", tmp_path / "out", local=str(src))
    written = pd.read_parquet(tmp_path / "out" / "amc23.parquet")
    truths = [rm["ground_truth"] for rm in written["reward_model"]]
    assert truths == ["27.25", "3.3333333333333335", "1.0000000000000002", "1e-05", "-0.5"]
    assert [float(t) for t in truths] == values


def test_a_null_answer_is_refused_not_written_as_nan(tmp_path):
    rows = source_rows("minerva_math")[:3]
    rows[1]["answer"] = None
    src = tmp_path / "minerva_null.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"minerva_math row 1: column 'answer' is null .*fill it in"):
        prepare_dataset("minerva_math", tmp_path / "out", local=str(src))
    assert not (tmp_path / "out" / "minerva_math.parquet").exists()


def test_arc_choices_letters_and_prompts_match_the_source(prepared):
    _, df, _ = prepared["arc_challenge"]
    src = source_rows("arc_challenge")
    assert set(df["ability"]) == {"multiple_choice"}
    sizes = set()
    for i, (row, prompt, truth, info) in enumerate(
        zip(src, df["prompt"], df["reward_model"], df["extra_info"])
    ):
        choices, labels = list(info["choices"]), row["choices"]["label"]
        sizes.add(len(choices))
        assert choices == [t.strip() for t in row["choices"]["text"]], f"arc_challenge row {i}"
        letter = truth["ground_truth"]
        assert isinstance(letter, str) and letter.strip()
        assert letter == LETTERS[labels.index(row["answerKey"])], f"arc_challenge row {i}: {letter}"
        assert letter == row["answerKey"]  # this copy's labels are letters A.. in order
        assert choices[LETTERS.index(letter)] == row["answer"].strip()  # the copy's answer text agrees
        assert prompt[0]["content"] == CHOICE_INSTRUCTION
        user = prompt[1]["content"]
        assert user.startswith(row["question"].strip()) and info["question"] == row["question"].strip()
        lines = user.splitlines()[-len(choices):]
        assert lines == [f"({LETTERS[k]}) {c}" for k, c in enumerate(choices)], f"arc_challenge row {i}"
    assert sizes == {3, 4, 5}  # the real file's 3-, 4- and 5-choice questions


def test_cli_prepare_data_on_a_real_file(python, tmp_path, prepared):
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = tmp_path / "cli"
    proc = subprocess.run(
        [python, "-m", "curiosft.cli", "prepare-data", "minerva_math", "--out", str(out),
         "--local", str(source_file("minerva_math"))],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{out}/minerva_math.parquet: 272 rows" in proc.stdout
    manifest = json.loads((out / "manifest.minerva_math.json").read_text())
    assert manifest["files"]["minerva_math.parquet"]["rows"] == 272
    assert manifest["source"] == {"local": str(source_file("minerva_math").resolve())}
    pd.testing.assert_frame_equal(pd.read_parquet(out / "minerva_math.parquet"), prepared["minerva_math"][1])
