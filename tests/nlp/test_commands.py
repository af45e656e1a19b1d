"""The CLI contracts of `healthscore sentiment` and `healthscore model`, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.commands.model import COMMAND as MODEL
from connector.commands.sentiment import COMMAND as SENTIMENT


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_classify_jsonl_keeps_order_and_count_with_bad_lines(runner: CliRunner, built_instance: Path) -> None:
    lines = [
        json.dumps({"id": 1, "text": "The sync deleted half our accounts. This is a disaster."}),
        "this is not json",
        json.dumps({"id": 3, "body": "no text key"}),
        json.dumps({"text": "Thank you so much, everything works perfectly now!"}),
        json.dumps(["a", "list"]),
        json.dumps({"text": 42}),
        json.dumps({"text": ""}),
        json.dumps({"text": "How do I add a user to our workspace?", "extra": {"ignored": True}}),
    ]
    result = runner.invoke(
        SENTIMENT,
        ["classify", "--jsonl", "--instance-dir", str(built_instance)],
        input="\n".join(lines) + "\n",
    )
    assert result.exit_code == 0, result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(out) == len(lines)
    assert all(set(o) == {"label", "score"} for o in out)
    assert [o["label"] for o in out] == [
        "negative",
        "neutral",
        "neutral",
        "positive",
        "neutral",
        "neutral",
        "neutral",
        "neutral",
    ]
    assert out[1] == out[2] == out[4] == out[5] == {"label": "neutral", "score": 0.0}
    assert "line 2" in result.stderr
    assert "line 3" in result.stderr
    assert "line 5" in result.stderr
    assert "line 1:" not in result.stderr


def test_classify_more_lines_than_one_block(runner: CliRunner, built_instance: Path) -> None:
    texts = [
        f"Ticket {i}: the export is broken again." if i % 2 else f"Ticket {i}: thanks, all good!"
        for i in range(300)
    ]
    stdin = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    result = runner.invoke(
        SENTIMENT, ["classify", "--jsonl", "--instance-dir", str(built_instance)], input=stdin
    )
    labels = [json.loads(x)["label"] for x in result.stdout.splitlines()]
    assert len(labels) == 300
    assert labels[0] == "positive"
    assert labels[1] == "negative"
    assert labels[299] == "negative"


def test_classify_missing_model_fails_with_the_rebuild_command(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(SENTIMENT, ["classify", "--jsonl", "--model-path", str(tmp_path)], input="{}\n")
    assert result.exit_code != 0
    assert result.stdout == ""
    assert "healthscore model train --model-path" in result.stderr


def test_explain_json(runner: CliRunner, built_instance: Path) -> None:
    text = "The new reports look great. But the login page has been broken all week and I am fed up."
    result = runner.invoke(SENTIMENT, ["explain", "--json", "--instance-dir", str(built_instance), text])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["label"] == "negative"
    assert payload["excerpt"] == "But the login page has been broken all week and I am fed up."
    assert {s["text"] for s in payload["sentences"]} == {"The new reports look great.", payload["excerpt"]}


def test_explain_text(runner: CliRunner, built_instance: Path) -> None:
    result = runner.invoke(
        SENTIMENT, ["explain", "--instance-dir", str(built_instance), "Brilliant support, thank you!"]
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("positive")


@pytest.mark.parametrize(
    "args",
    [["train", "--help"], ["evaluate", "--help"], ["export", "--help"]],
    ids=["train", "evaluate", "export"],
)
def test_model_help(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(MODEL, args)
    assert result.exit_code == 0
    assert "--json" in result.stdout


def test_model_export_json_reuses_build(runner: CliRunner, built_instance: Path) -> None:
    result = runner.invoke(MODEL, ["export", "--json", "--instance-dir", str(built_instance)])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["int8_bytes"] < payload["fp32_bytes"] / 2


def test_model_train_frozen_json_small(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "head.npz"
    result = runner.invoke(
        MODEL, ["train", "--frozen", "--json", "--seed", "3", "--per-source", "20", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["head"] == str(out)
    assert payload["mode"] == "frozen"
    assert out.is_file()
    assert sum(payload["train"].values()) + sum(payload["held_out"].values()) == 5 * 20


def test_model_train_finetunes_in_few_steps_without_touching_the_shipped_model(
    runner: CliRunner, tmp_path: Path
) -> None:
    from nlp.head import load_head

    out, build = tmp_path / "head.npz", tmp_path / "finetuned"
    args = ["train", "--json", "--seed", "3", "--steps", "2", "--per-source", "8", "--no-export"]
    result = runner.invoke(MODEL, [*args, "--out", str(out), "--build-dir", str(build)])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["mode"] == "finetune"
    assert payload["onnx"] is None
    assert (build / "config.json").is_file()
    assert (build / "tokenizer.json").is_file()
    head = load_head(out, "train")
    assert head.meta["seed"] == 3
    assert head.meta["finetune"]["steps"] == 2  # type: ignore[index]
    assert float(str(head.meta["temperature"])) > 0


def test_model_evaluate_without_loso_writes_card_and_numbers(
    runner: CliRunner, tmp_path: Path, int8_model: object
) -> None:
    card = tmp_path / "card.md"
    result = runner.invoke(
        MODEL,
        ["evaluate", "--no-loso", "--test-cap", "15", "--backend", "onnx-int8", "--card", str(card)],
    )
    assert result.exit_code == 0, result.stderr
    text = card.read_text()
    assert "## Named challenge sets" in text
    assert "## Calibration" in text
    numbers = json.loads(card.with_suffix(".json").read_text())
    assert set(numbers["challenge"]) == {"sarcasm", "polite_complaints", "neutral_questions"}
    assert numbers["sources"]["tickets"]["n"] == 15


def test_model_train_without_data_says_where_to_point(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(MODEL, ["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "h.npz")])
    assert result.exit_code != 0
    assert "HEALTHSCORE_SENTIMENT_DATA" in result.stderr
