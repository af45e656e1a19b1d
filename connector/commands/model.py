"""`healthscore model`: train the sentiment head, evaluate it (writes the model card), export ONNX."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click

from connector.commands.sentiment import model_options, open_model

logger = logging.getLogger(__name__)


def _data_options(func: Any) -> Any:
    func = click.option(
        "--tickets",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Labelled ticket messages (JSON lines). [default: data/tickets/labelled.jsonl]",
    )(func)
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="HEALTHSCORE_SENTIMENT_DATA",
        default=None,
        help="Folder with the human-rated CSVs. [default: ../shared/data/sentiment beside the repo]",
    )(func)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group("model")
def model() -> None:
    """Build and measure the ticket-sentiment model."""


@model.command("train")
@click.option("--seed", type=int, default=13, show_default=True, help="Seeds the held-out split and the fit.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the head. [default: nlp/weights/default_head.npz, or instance/heads/ for --model-path]",
)
@click.option("--per-source", type=int, default=None, help="Use at most N examples per source (quick runs).")
@_data_options
@click.option(
    "--model-path",
    type=click.Path(path_type=Path),
    envvar="HEALTHSCORE_SENTIMENT_MODEL_PATH",
    default=None,
    help="Train a head for this Hugging Face model directory instead of the packaged MiniLM-L6.",
)
@click.option(
    "--instance-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="HEALTHSCORE_INSTANCE_PATH",
    default=None,
    help="Where heads of custom models are kept. [default: ./instance]",
)
def train_cmd(
    seed: int,
    as_json: bool,
    out: Path | None,
    per_source: int | None,
    data_dir: Path | None,
    tickets: Path | None,
    model_path: Path | None,
    instance_dir: Path | None,
) -> None:
    """Train the linear head on frozen MiniLM embeddings (reproducible for a seed).

    Uses the human-rated sentences and the project's labelled tickets; 20% of each source (per label) is
    held out by SEED and left for `healthscore model evaluate`.
    """
    from nlp.data import TrainingDataError
    from nlp.errors import ModelLoadError
    from nlp.paths import DEFAULT_TICKETS, default_data_dir, default_instance_dir, head_path_for
    from nlp.train import train

    target = out or head_path_for(model_path, instance_dir or default_instance_dir())
    try:
        result = train(
            seed=seed,
            data_dir=data_dir or default_data_dir(),
            tickets_path=tickets or DEFAULT_TICKETS,
            model_path=model_path,
            per_source=per_source,
        )
    except (TrainingDataError, ModelLoadError) as exc:
        raise _fail(exc) from exc
    result.head.save(target)
    summary = {
        "head": str(target),
        "seed": seed,
        "train": result.n_train,
        "held_out": result.n_test,
        "seconds": round(result.seconds, 1),
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            f"wrote {target} in {result.seconds:.0f}s; trained on {result.n_train}, held out {result.n_test}"
        )


@model.command("evaluate")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option(
    "--card",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the model card. [default: nlp/cards/default.md]",
)
@_data_options
@model_options
def evaluate_cmd(
    as_json: bool,
    card: Path | None,
    data_dir: Path | None,
    tickets: Path | None,
    model_path: Path | None,
    instance_dir: Path | None,
    backend: str,
) -> None:
    """Measure the model on every source's held-out split and write the model card.

    The split uses the seed stored in the head, so held-out rows are never ones it trained on. Reports
    macro-F1, accuracy, per-class scores and confusion for the chosen runtime and its agreement with torch fp32.
    """
    from nlp.data import TrainingDataError
    from nlp.evaluate import evaluate_models, render_card, write_card
    from nlp.paths import DEFAULT_CARD, DEFAULT_TICKETS, default_data_dir
    from nlp.train import load_examples

    runtime = open_model(model_path, instance_dir, backend)
    onnx_file = model_path is not None and model_path.suffix == ".onnx"
    reference = runtime if onnx_file or backend == "torch" else open_model(model_path, instance_dir, "torch")
    try:
        examples = load_examples(data_dir or default_data_dir(), tickets or DEFAULT_TICKETS)
    except TrainingDataError as exc:
        raise _fail(exc) from exc
    seed = int(runtime.head.meta.get("seed", 13))
    ev = evaluate_models(runtime, reference, examples, seed)
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.source] = counts.get(e.source, 0) + 1
    target = card or DEFAULT_CARD
    write_card(render_card(ev, counts), target)
    if as_json:
        click.echo(json.dumps({**ev.as_dict(), "card": str(target)}))
        return
    for r in ev.results:
        click.echo(
            f"{r.source:<24} n={r.report.n:<5} macro-F1 {r.report.macro_f1:.3f}  accuracy {r.report.accuracy:.3f}"
            f"  (fp32 macro-F1 {r.reference_macro_f1:.3f}, agreement {r.agreement_with_reference:.3f})"
        )
    click.echo(f"wrote {target}")


@model.command("export")
@click.option("--force", is_flag=True, help="Rebuild even if the files exist (e.g. after corruption).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option(
    "--model-path",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="HEALTHSCORE_SENTIMENT_MODEL_PATH",
    default=None,
    help="A Hugging Face model directory instead of the packaged MiniLM-L6.",
)
@click.option(
    "--instance-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="HEALTHSCORE_INSTANCE_PATH",
    default=None,
    help="Where the ONNX files are written. [default: ./instance]",
)
def export_cmd(force: bool, as_json: bool, model_path: Path | None, instance_dir: Path | None) -> None:
    """Export the encoder to ONNX (fp32) and quantise it to int8 (dynamic, per-channel) under instance/.

    Models load these files automatically and build them on first use if missing; run this to build ahead
    of time or, with --force, to replace a corrupt file.
    """
    from nlp.errors import ModelLoadError
    from nlp.export import export
    from nlp.paths import default_encoder_dir, default_instance_dir

    try:
        fp32, int8 = export(
            model_path or default_encoder_dir(), instance_dir or default_instance_dir(), force=force
        )
    except ModelLoadError as exc:
        raise _fail(exc) from exc
    sizes = {
        "fp32": str(fp32),
        "int8": str(int8),
        "fp32_bytes": fp32.stat().st_size,
        "int8_bytes": int8.stat().st_size,
    }
    if as_json:
        click.echo(json.dumps(sizes))
    else:
        mb32, mb8 = fp32.stat().st_size / 1e6, int8.stat().st_size / 1e6
        click.echo(f"fp32 {fp32} ({mb32:.1f} MB)\nint8 {int8} ({mb8:.1f} MB)")


COMMAND = model
