"""The distilled, layer-reduced student: its loss, its layers, its export, its reproducibility."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp.finetune import (
    FinetuneConfig,
    Teacher,
    distillation_loss,
    finetune,
    keep_layers,
    parse_layers,
)
from nlp.head import LinearHead
from nlp.paths import default_encoder_dir
from tests.nlp.test_finetune import _rows

TINY_STUDENT = FinetuneConfig(steps=2, batch_size=4, max_len=16, per_source=10, layers=(0, 2))


def _base() -> object:
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(default_encoder_dir()), local_files_only=True).eval()


def test_distillation_loss_is_the_label_loss_alone_when_student_equals_teacher() -> None:
    import torch

    torch.manual_seed(0)
    logits = torch.randn(16, 3) * 3
    labels = torch.randint(0, 3, (16,))
    ce = torch.nn.functional.cross_entropy(logits, labels)
    soft_only = distillation_loss(logits, logits.clone(), labels, alpha=1.0, temperature=2.0)
    assert float(soft_only) == pytest.approx(0.0, abs=1e-6)
    mixed = distillation_loss(logits, logits.clone(), labels, alpha=0.5, temperature=2.0)
    assert float(mixed) == pytest.approx(0.5 * float(ce), rel=1e-5)


def test_distillation_loss_grows_when_the_student_disagrees() -> None:
    import torch

    teacher = torch.tensor([[4.0, 0.0, -4.0], [-4.0, 0.0, 4.0]])
    labels = torch.tensor([0, 2])
    agree = distillation_loss(teacher * 0.9, teacher, labels, alpha=1.0, temperature=2.0)
    flipped = distillation_loss(teacher.flip(-1), teacher, labels, alpha=1.0, temperature=2.0)
    assert float(flipped) > float(agree) > 0.0


def test_parse_layers_accepts_increasing_indices_and_refuses_the_rest() -> None:
    assert parse_layers("0,2,4") == (0, 2, 4)
    assert parse_layers("5") == (5,)
    for bad in ("", "2,0", "1,1", "0,6", "-1,2", "a,b"):
        with pytest.raises(ValueError, match="layer"):
            parse_layers(bad)


def test_a_student_keeps_the_chosen_layers_and_exports_to_the_same_graph_shape(tmp_path: Path) -> None:
    import onnx

    from nlp.encoder import OnnxEncoder
    from nlp.export import export
    from nlp.finetune import save_encoder
    from nlp.paths import SHIPPED_ONNX

    full = _base()
    second = full.encoder.layer[2].attention.self.query.weight.detach().clone()  # type: ignore[attr-defined]
    student = keep_layers(full, [0, 2, 4])
    assert len(student.encoder.layer) == 3
    assert student.config.num_hidden_layers == 3
    # The student's second layer is the teacher's third, weights and all.
    assert bool((student.encoder.layer[1].attention.self.query.weight == second).all())
    save_encoder(student, default_encoder_dir(), tmp_path / "student")
    _, int8 = export(tmp_path / "student", tmp_path / "instance")

    def signature(path: Path) -> list[tuple[str, int]]:
        graph = onnx.load(str(path)).graph
        return [(v.name, v.type.tensor_type.elem_type) for v in [*graph.input, *graph.output]]

    assert signature(int8) == signature(SHIPPED_ONNX)
    ids = np.asarray([[101, 2023, 2003, 102, 0]], dtype=np.int64)
    mask = np.asarray([[1, 1, 1, 1, 0]], dtype=np.int64)
    states = OnnxEncoder(int8, "test").token_states(ids, mask)
    assert states.shape == (1, 5, 384)
    layernorm_weights = [
        n for n in onnx.load(str(int8)).graph.initializer if "output.LayerNorm.weight" in n.name
    ]
    assert len(layernorm_weights) == 2 * 3  # attention + feed-forward LayerNorm per kept layer


def test_distilling_a_student_is_reproducible_for_a_seed(tmp_path: Path) -> None:
    rows = _rows()
    rng = np.random.default_rng(0)
    head = LinearHead(weight=rng.normal(size=(3, 384)).astype(np.float32), bias=np.zeros(3, np.float32))
    teacher = Teacher(encoder=_base(), head=head)

    def run(seed: int, name: str) -> bytes:
        result = finetune(
            rows, rows[:6], seed=seed, cfg=TINY_STUDENT, encoder_dir=default_encoder_dir(), teacher=teacher
        )
        assert len(result.encoder.encoder.layer) == 2
        result.head.save(tmp_path / name)
        return (tmp_path / name).read_bytes()

    assert run(5, "a.npz") == run(5, "b.npz")
    assert run(6, "c.npz") != run(5, "a.npz")
    # The teacher is left as it was: 6 layers, eval mode.
    assert len(teacher.encoder.encoder.layer) == 6
    assert not teacher.encoder.training


def test_model_train_layers_distils_a_student_from_a_teacher_folder(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from connector.commands.model import COMMAND as MODEL
    from nlp.head import load_head

    runner = CliRunner()
    quick = ["train", "--json", "--seed", "3", "--steps", "2", "--per-source", "8", "--no-export"]
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    made = runner.invoke(MODEL, [*quick, "--out", str(tmp_path / "t.npz"), "--build-dir", str(teacher)])
    assert made.exit_code == 0, made.stderr
    args = ["--layers", "1,3", "--teacher-dir", str(teacher), "--build-dir", str(student)]
    result = runner.invoke(MODEL, [*quick, *args, "--out", str(tmp_path / "s.npz")])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["mode"] == "distil"
    assert payload["layers"] == [1, 3]
    config = json.loads((student / "config.json").read_text())
    assert config["num_hidden_layers"] == 2
    head = load_head(student / "sentiment_head.npz", "train")
    assert head.meta["finetune"]["layers"] == [1, 3]  # type: ignore[index]
    assert "distilled from teacher" in str(head.meta["encoder"])


def test_model_train_refuses_distillation_options_without_layers(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from connector.commands.model import COMMAND as MODEL

    result = CliRunner().invoke(MODEL, ["train", "--no-export", "--teacher-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "only apply with --layers" in result.output
    bad = CliRunner().invoke(MODEL, ["train", "--no-export", "--layers", "3,1"])
    assert bad.exit_code == 2
    assert "increasing" in bad.output


def test_student_rows_on_the_card_come_from_the_recorded_folds(tmp_path: Path) -> None:
    import json

    from connector.commands.model import student_candidates

    folds = {
        d: {"teacher_fp32": 0.6, "fp32": 0.5, "int8": 0.49, "seconds": 1.0}
        for d in ("amazon_review_snippets", "tweets")
    }
    recipe = {"layers": [0, 2, 4], "loso_steps": 200, "distill_alpha": 0.5, "distill_temperature": 2.0}
    path = tmp_path / "student.json"
    path.write_text(json.dumps({"0,2,4": {"recipe": recipe, "folds": folds}}))
    fp32, int8 = student_candidates(path)
    assert fp32.name == "MiniLM-L3 student (layers 0,2,4) distilled, fp32"
    assert fp32.loso_mean == pytest.approx(0.5)
    assert int8.loso_mean == pytest.approx(0.49)
    assert "Folds missing: movie_review_snippets, nyt_editorial_snippets, tickets" in fp32.note
    assert student_candidates(tmp_path / "absent.json") == []


def test_the_card_names_a_distilled_student_and_its_layers() -> None:
    from types import SimpleNamespace

    from nlp.evaluate import _model_lines

    cfg = {"steps": 320, "layers": [0, 2, 4], "distill_alpha": 0.5, "distill_temperature": 2.0}
    student = "\n".join(_model_lines(SimpleNamespace(head_meta={"finetune": cfg}, seed=13)))  # type: ignore[arg-type]
    assert "Distilled student**: 3 of the fine-tuned model's 6 layers kept (0, 2, 4)" in student
    assert "--layers 0,2,4" in student
    full = "\n".join(_model_lines(SimpleNamespace(head_meta={"finetune": {"steps": 320}}, seed=13)))  # type: ignore[arg-type]
    assert "Distilled" not in full
