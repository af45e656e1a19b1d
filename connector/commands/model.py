"""`healthscore model`: train the sentiment head, evaluate it (writes the model card), export ONNX."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from connector.commands.sentiment import _existing_model_path, model_options, open_model

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
@click.option(
    "--per-source", type=int, default=None, help="Use at most N training rows per source (default 2000)."
)
@click.option("--steps", type=int, default=None, help="Fine-tuning steps of 32 texts (default 320).")
@click.option(
    "--frozen",
    is_flag=True,
    help="Only fit a linear head on the frozen encoder (always so for --model-path).",
)
@click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the fine-tuned fp32 weights go. [default: nlp/.build/finetuned]",
)
@click.option(
    "--no-export",
    is_flag=True,
    help="Do not export and ship the int8 ONNX model into nlp/weights/ (quick or experimental runs).",
)
@click.option(
    "--layers",
    default=None,
    metavar="I,J,...",
    help=(
        "Train a smaller student: keep only these of the 6 encoder layers (e.g. 0,2,4), start from the"
        " teacher's weights and distil it from the teacher (--teacher-dir) on the same training rows."
        " Its fp32 weights go to nlp/.build/student unless --build-dir says otherwise."
    ),
)
@click.option(
    "--teacher-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The fine-tuned 6-layer model to distil from (with --layers). [default: nlp/.build/finetuned]",
)
@click.option(
    "--distill-alpha",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Weight of the teacher's soft labels against the human labels (with --layers). [default: 0.5]",
)
@click.option(
    "--distill-temperature",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Temperature softening teacher and student logits in the distillation loss. [default: 2.0]",
)
@_data_options
@click.option(
    "--model-path",
    type=click.Path(path_type=Path),
    envvar="HEALTHSCORE_SENTIMENT_MODEL_PATH",
    default=None,
    callback=_existing_model_path,
    help="Train a head for this Hugging Face model directory instead of fine-tuning the packaged MiniLM-L6.",
)
@click.option(
    "--instance-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="HEALTHSCORE_INSTANCE_PATH",
    default=None,
    help="Where heads of custom models and ONNX builds are kept. [default: ./instance]",
)
def train_cmd(
    seed: int,
    as_json: bool,
    out: Path | None,
    per_source: int | None,
    steps: int | None,
    frozen: bool,
    build_dir: Path | None,
    no_export: bool,
    layers: str | None,
    teacher_dir: Path | None,
    distill_alpha: float | None,
    distill_temperature: float | None,
    data_dir: Path | None,
    tickets: Path | None,
    model_path: Path | None,
    instance_dir: Path | None,
) -> None:
    """Fine-tune MiniLM-L6 end to end with its head (reproducible for a seed and thread count), calibrate it,
    export it to int8 ONNX and ship it into nlp/weights/.

    Uses the four human-rated sources, the project's tickets and the generated support text; 20% of each
    source (per label) is held out by SEED for `healthscore model evaluate`. Bounded by --steps: about
    4-10 minutes on 2 CPU cores. Needs the train extra: pip install -e '.[train]'.

    With --layers, a layer-reduced student is distilled from the fine-tuned model in --teacher-dir (train
    that first, without --layers): same rows, same steps, about 3-6 minutes for 3 layers.
    """
    from nlp.data import TrainingDataError
    from nlp.errors import ModelLoadError
    from nlp.paths import (
        DEFAULT_GENERATED,
        DEFAULT_HEAD,
        DEFAULT_TICKETS,
        DEFAULT_WRITTEN,
        FINETUNED_DIR,
        SHIPPED_ONNX,
        STUDENT_DIR,
        default_data_dir,
        default_instance_dir,
        head_path_for,
    )

    student_only = {
        "--teacher-dir": teacher_dir,
        "--distill-alpha": distill_alpha,
        "--distill-temperature": distill_temperature,
    }
    misplaced = [name for name, value in student_only.items() if value is not None and layers is None]
    if misplaced:
        raise click.UsageError(f"{', '.join(misplaced)} only apply with --layers")
    kept: tuple[int, ...] | None = None
    if layers is not None:
        if frozen or model_path is not None:
            raise click.UsageError(
                "--layers trains a fine-tuned student; it cannot go with --frozen/--model-path"
            )
        from nlp.finetune import parse_layers

        try:
            kept = parse_layers(layers)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--layers") from exc
    _require_train_extra()
    instance = instance_dir or default_instance_dir()
    target = out or head_path_for(model_path, instance)
    try:
        if frozen or model_path is not None:
            from nlp.train import train

            result = train(
                seed=seed,
                data_dir=data_dir or default_data_dir(),
                tickets_path=tickets or DEFAULT_TICKETS,
                model_path=model_path,
                per_source=per_source,
            )
            result.head.save(target)
            summary: dict[str, object] = {
                "head": str(target),
                "seed": seed,
                "mode": "frozen",
                "train": result.n_train,
                "held_out": result.n_test,
                "seconds": round(result.seconds, 1),
            }
        else:
            from dataclasses import replace

            from nlp.finetune import FinetuneConfig
            from nlp.train import train_finetuned

            cfg = FinetuneConfig()
            cfg = replace(cfg, steps=steps or cfg.steps, per_source=per_source or cfg.per_source)
            teacher = None
            if kept is not None:
                teacher = teacher_dir or FINETUNED_DIR
                cfg = replace(
                    cfg,
                    layers=kept,
                    distill_alpha=cfg.distill_alpha if distill_alpha is None else distill_alpha,
                    distill_temperature=distill_temperature or cfg.distill_temperature,
                )
            ft = train_finetuned(
                seed=seed,
                data_dir=data_dir or default_data_dir(),
                tickets_path=tickets or DEFAULT_TICKETS,
                generated_path=DEFAULT_GENERATED,
                written_dir=DEFAULT_WRITTEN,
                cfg=cfg,
                build_dir=build_dir or (STUDENT_DIR if kept is not None else FINETUNED_DIR),
                head_out=out or DEFAULT_HEAD,
                ship_onnx=None if no_export else SHIPPED_ONNX,
                instance_dir=instance,
                progress=None if as_json else click.echo,
                teacher_dir=teacher,
            )
            summary = {
                "head": str(ft.head_path),
                "encoder": str(ft.encoder_dir),
                "onnx": str(ft.onnx_path) if ft.onnx_path else None,
                "seed": seed,
                "mode": "finetune" if kept is None else "distil",
                "layers": list(kept) if kept is not None else None,
                "temperature": ft.temperature,
                "rows": ft.n_rows,
                "train": ft.n_train,
                "held_out": ft.n_test,
                "seconds": round(ft.seconds, 1),
            }
    except (TrainingDataError, ModelLoadError) as exc:
        raise _fail(exc) from exc
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            f"wrote {summary['head']} in {summary['seconds']}s; trained on {summary['train']},"
            f" held out {summary['held_out']}"
        )


def _require_train_extra() -> None:
    """Training needs torch & co, which the runtime install leaves out: say how to get them."""
    import importlib.util

    missing = [m for m in ("torch", "transformers", "sklearn", "onnx") if importlib.util.find_spec(m) is None]
    if missing:
        raise click.ClickException(
            f"training needs {', '.join(missing)}: install the train extra with `pip install -e '.[train]'`"
        )


@model.command("evaluate")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option(
    "--card",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the model card. [default: nlp/cards/default.md; its numbers also go to default.json]",
)
@click.option(
    "--loso/--no-loso",
    default=True,
    show_default=True,
    help="Run leave-one-source-out for the fine-tuned recipe and the frozen encoders (needs the train extra).",
)
@click.option(
    "--reuse-loso",
    is_flag=True,
    help="Keep the comparison/LOSO table of the last run (default.json) instead of recomputing it.",
)
@click.option(
    "--loso-steps",
    type=int,
    default=200,
    show_default=True,
    help="Fine-tuning steps per LOSO fold (fewer than the shipped model's, to stay within time).",
)
@click.option(
    "--compare",
    "compare",
    type=click.Path(file_okay=False, path_type=Path),
    multiple=True,
    help="Another Hugging Face encoder directory to compare as frozen encoder + linear head (repeatable).",
)
@click.option(
    "--test-cap", type=int, default=None, help="Score at most N held-out rows per source (quick runs)."
)
@click.option(
    "--loso-max-len",
    type=int,
    default=None,
    help="Tokens per training text in LOSO folds (default: the shipped recipe's 64).",
)
@click.option(
    "--loso-domain",
    "loso_domains",
    multiple=True,
    help="Run the fine-tuned LOSO fold for this source only (repeatable; cost estimates). [default: all]",
)
@click.option(
    "--frozen-per-source",
    type=int,
    default=None,
    help="Rows per source for the frozen encoders' heads (default: the recipe's 2000).",
)
@click.option(
    "--compare-per-source",
    type=int,
    default=None,
    help="Rows per source for the heads of --compare encoders (large encoders are slow to embed).",
)
@click.option(
    "--no-loso-int8",
    is_flag=True,
    help="Skip exporting each LOSO fold to int8 ONNX (the shipped runtime's own LOSO figure).",
)
@_data_options
@model_options
def evaluate_cmd(
    as_json: bool,
    card: Path | None,
    loso: bool,
    reuse_loso: bool,
    loso_steps: int,
    compare: tuple[Path, ...],
    test_cap: int | None,
    loso_max_len: int | None,
    loso_domains: tuple[str, ...],
    frozen_per_source: int | None,
    compare_per_source: int | None,
    no_loso_int8: bool,
    data_dir: Path | None,
    tickets: Path | None,
    model_path: Path | None,
    instance_dir: Path | None,
    backend: str,
) -> None:
    """Measure the model and write the model card: every source's held-out split (runtime and fp32), the
    named challenge sets, a calibration reliability table and, with --loso, the leave-one-source-out
    comparison of the fine-tuned recipe with frozen encoders (minutes: one fine-tuning per source).

    The split uses the seed stored in the head, so held-out rows are never ones it trained on.
    """
    from dataclasses import replace

    from nlp.data import TrainingDataError, load_adversarial, load_tickets, load_unseen_writers
    from nlp.errors import ModelLoadError
    from nlp.evaluate import evaluate_models, render_card, write_card
    from nlp.paths import (
        DEFAULT_ADVERSARIAL,
        DEFAULT_CARD,
        DEFAULT_CHALLENGE,
        DEFAULT_GENERATED,
        DEFAULT_LONGMAIL,
        DEFAULT_TICKETS,
        DEFAULT_UNSEEN_WRITERS,
        DEFAULT_WRITTEN,
        default_data_dir,
    )
    from nlp.train import load_all

    runtime = open_model(model_path, instance_dir, backend)
    onnx_file = model_path is not None and model_path.suffix == ".onnx"
    reference = runtime
    ref_note = ""
    if not onnx_file and backend != "torch":
        try:
            from nlp import load_default_model

            reference = load_default_model(model_path, instance_dir, backend="torch")
        except (ModelLoadError, ImportError) as exc:
            ref_note = f"no fp32 reference ({exc}); runtime compared with itself"
            click.echo(f"warning: {ref_note}", err=True)
    try:
        examples = load_all(
            data_dir or default_data_dir(), tickets or DEFAULT_TICKETS, DEFAULT_GENERATED, DEFAULT_WRITTEN
        )
        challenge = load_tickets(DEFAULT_CHALLENGE, source="challenge") if DEFAULT_CHALLENGE.is_file() else []
        longmail = load_tickets(DEFAULT_LONGMAIL, source="longmail") if DEFAULT_LONGMAIL.is_file() else []
        unseen = load_unseen_writers(DEFAULT_UNSEEN_WRITERS)
        adversarial = load_adversarial(DEFAULT_ADVERSARIAL) if DEFAULT_ADVERSARIAL.is_file() else []
    except TrainingDataError as exc:
        raise _fail(exc) from exc
    challenge = [replace(e, source=e.id.rsplit("-", 1)[0]) for e in challenge]
    seed = int(str(runtime.head.meta.get("seed", 13)))
    ev = evaluate_models(
        runtime,
        reference,
        examples,
        seed,
        challenge=challenge,
        test_cap=test_cap,
        long_mail_rows=longmail,
        unseen_rows=unseen,
        adversarial_rows=adversarial,
    )
    target = card or DEFAULT_CARD
    numbers = target.with_suffix(".json")
    if reuse_loso and numbers.is_file():
        ev = replace(ev, **_previous_comparison(numbers))
    elif loso:
        _require_train_extra()
        from nlp.crossdomain import DOMAINS

        unknown = sorted(set(loso_domains) - set(DOMAINS))
        if unknown:
            raise click.BadParameter(
                f"{', '.join(unknown)}; choose from {', '.join(DOMAINS)}", param_hint="--loso-domain"
            )
        ev = replace(
            ev,
            **_comparison(
                examples,
                seed,
                reference,
                compare,
                loso_steps,
                test_cap,
                frozen_per_source=frozen_per_source,
                compare_per_source=compare_per_source,
                loso_max_len=loso_max_len,
                runtime=runtime,
                domains=loso_domains or DOMAINS,
                int8=not no_loso_int8,
            ),
        )
        if numbers.is_file():
            ev = replace(ev, candidates=(*ev.candidates, *_earlier_candidates(numbers, ev.candidates)))
    ev = replace(ev, **_recorded(target.parent))
    students = [
        c
        for c in student_candidates(target.parent / "student.json")
        if c.name not in {x.name for x in ev.candidates}
    ]
    if students:
        ev = replace(ev, candidates=(*ev.candidates, *students))
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.source] = counts.get(e.source, 0) + 1
    write_card(render_card(ev, counts), target)
    numbers.write_text(json.dumps(ev.as_dict(), indent=1) + "\n", encoding="utf-8")
    if as_json:
        click.echo(json.dumps({**ev.as_dict(), "card": str(target)}))
        return
    for r in ev.results:
        click.echo(
            f"{r.source:<24} n={r.report.n:<5} macro-F1 {r.report.macro_f1:.3f}  accuracy {r.report.accuracy:.3f}"
            f"  (fp32 macro-F1 {r.reference_macro_f1:.3f}, agreement {r.agreement_with_reference:.3f})"
        )
    for c in ev.candidates:
        click.echo(f"{c.name:<40} in-domain mean {c.in_domain_mean:.3f}  LOSO mean {c.loso_mean:.3f}")
    click.echo(f"wrote {target}")


def _comparison(
    examples: list[Any],
    seed: int,
    reference: Any,
    compare: tuple[Path, ...],
    loso_steps: int,
    test_cap: int | None,
    compare_per_source: int | None = None,
    frozen_per_source: int | None = None,
    loso_max_len: int | None = None,
    runtime: Any = None,
    domains: Sequence[str] | None = None,
    int8: bool = True,
) -> dict[str, Any]:
    """The candidates table: frozen encoders + linear head, and the fine-tuned recipe in fp32 and as the
    shipped int8 ONNX runtime (LOSO folds with fewer steps); the recipe is chosen on its LOSO mean."""
    from nlp.crossdomain import (
        DOMAINS,
        TEST_CAP,
        Candidate,
        capped,
        finetuned_loso_scores,
        frozen_candidate,
        test_rows,
        with_steps,
    )
    from nlp.data import split
    from nlp.finetune import FinetuneConfig
    from nlp.metrics import evaluate
    from nlp.paths import default_encoder_dir
    from nlp.train import carve_validation

    train_set, test = split(examples, seed)
    fit, validation = carve_validation(train_set, seed)
    tests = test_rows(test, seed)
    if test_cap:
        # A seeded sample, not the first rows: held-out rows are grouped by label.
        tests = {d: capped(rows, test_cap, seed) for d, rows in tests.items()}
    base = FinetuneConfig()
    per_source = frozen_per_source or base.per_source
    candidates = [
        frozen_candidate(
            FROZEN_NAME,
            default_encoder_dir(),
            fit,
            tests,
            seed=seed,
            per_source=per_source,
        )
    ]
    for path in compare:
        rows = compare_per_source or per_source
        candidates.append(
            frozen_candidate(
                f"{path.name} frozen + linear head",
                path,
                fit,
                tests,
                seed=seed,
                per_source=rows,
                note=f"head trained on at most {rows} rows per source" if rows != per_source else "",
            )
        )

    def in_domain(model: Any) -> dict[str, float]:
        """The trained model itself on the same rows (its training split included every source)."""
        return {
            d: evaluate(
                [e.label for e in tests[d]],
                [s.label for s in model.classify_many([e.text for e in tests[d]])],
            ).macro_f1
            for d in DOMAINS
            if tests[d]
        }

    loso_cfg = with_steps(base, loso_steps, max_len=loso_max_len)
    folds = finetuned_loso_scores(
        fit,
        validation,
        tests,
        seed=seed,
        cfg=loso_cfg,
        encoder_dir=default_encoder_dir(),
        progress=lambda m: click.echo(m, err=True),
        int8=int8,
        domains=domains or DOMAINS,
    )
    fp32 = Candidate(
        name=FINETUNED_FP32, in_domain=in_domain(reference) if reference is not None else {}, loso=folds.fp32
    )
    candidates.append(fp32)
    shipped: Candidate | None = None
    if runtime is not None and runtime is not reference:
        shipped = Candidate(name=FINETUNED_INT8, in_domain=in_domain(runtime), loso=folds.int8)
        candidates.append(shipped)
    # Choose the recipe on the LOSO mean of its fp32 model (every candidate's LOSO is fp32 except the int8
    # row, which is the fine-tuned recipe's shipped form, not another recipe).
    recipes = [c for c in candidates if c.name != FINETUNED_INT8]
    best = max(recipes, key=lambda c: c.loso_mean if c.loso_mean == c.loso_mean else -1.0)
    chosen = FINETUNED_INT8 if best is fp32 and shipped is not None else best.name
    fold_time = sum(folds.seconds.values())
    ran = [d for d in DOMAINS if d in folds.fp32]
    note = (
        f"Rows scored: at most {test_cap or TEST_CAP} held-out rows per source (seeded), the same rows for every"
        f" model. Fine-tuned LOSO folds train {loso_steps} steps of {base.batch_size} at {loso_cfg.max_len} tokens"
        f" (the shipped model {base.steps} at {base.max_len}), {len(ran)} folds in {fold_time / 60:.1f} min"
        f" (fine-tune, then export + int8 quantisation as shipped); frozen heads use at most {per_source} rows per"
        f" source. Chosen on the LOSO mean: **{best.name}** ({best.loso_mean:.3f};"
        + "; ".join(f" {c.name} {c.loso_mean:.3f}" for c in recipes if c is not best)
        + ")"
        + (
            f", shipped as its int8 ONNX export (LOSO mean {shipped.loso_mean:.3f})."
            if chosen == FINETUNED_INT8 and shipped
            else "."
        )
    )
    return {"candidates": tuple(candidates), "chosen": chosen, "loso_note": note}


@model.command("distil-loso")
@click.option("--layers", required=True, metavar="I,J,...", help="The student's kept layers, as for train.")
@click.option(
    "--loso-steps", type=int, default=200, show_default=True, help="Steps per fold (teacher and student)."
)
@click.option(
    "--loso-domain",
    "loso_domains",
    multiple=True,
    help="Run only this left-out source (repeatable; split the folds over several runs). [default: all]",
)
@click.option(
    "--distill-alpha", type=click.FloatRange(0.0, 1.0), default=None, help="As for train. [default: 0.5]"
)
@click.option(
    "--distill-temperature", type=click.FloatRange(min=0.1), default=None, help="As for train. [default: 2.0]"
)
@click.option(
    "--student-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also score this trained student (fp32 and int8) in-domain on the same rows. [default: nlp/.build/student]",
)
@click.option("--no-int8", is_flag=True, help="Skip the int8 ONNX export of each student fold.")
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="JSON the folds are merged into (the card shows it). [default: nlp/cards/student.json]",
)
@_data_options
def distil_loso_cmd(
    layers: str,
    loso_steps: int,
    loso_domains: tuple[str, ...],
    distill_alpha: float | None,
    distill_temperature: float | None,
    student_dir: Path | None,
    no_int8: bool,
    record: Path | None,
    data_dir: Path | None,
    tickets: Path | None,
) -> None:
    """Leave-one-source-out for a distilled student, comparable with the card's fine-tuned LOSO rows: the
    same folds, rows, steps and seed; each fold's teacher is the fine-tuned recipe trained without the
    left-out source (cached under nlp/.build/loso/), and the student is distilled from it. Results merge
    into --record per fold, so folds can be run in separate (shorter) runs; `healthscore model evaluate`
    puts them on the card. About 4-6 minutes per fold on 2 cores (2-3 with a cached teacher).
    """
    from dataclasses import replace

    from nlp.crossdomain import DOMAINS, student_loso_folds, test_rows, with_steps
    from nlp.data import split
    from nlp.finetune import FinetuneConfig, parse_layers
    from nlp.head import load_head
    from nlp.paths import (
        BUILD_DIR,
        DEFAULT_GENERATED,
        DEFAULT_HEAD,
        DEFAULT_TICKETS,
        DEFAULT_WRITTEN,
        STUDENT_CARD,
        STUDENT_DIR,
        default_data_dir,
        default_encoder_dir,
    )
    from nlp.train import carve_validation, load_all

    _require_train_extra()
    try:
        kept = parse_layers(layers)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--layers") from exc
    unknown = sorted(set(loso_domains) - set(DOMAINS))
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)}; choose from {', '.join(DOMAINS)}", param_hint="--loso-domain"
        )
    base = FinetuneConfig()
    teacher_cfg = with_steps(base, loso_steps)
    student_cfg = replace(
        teacher_cfg,
        layers=kept,
        distill_alpha=base.distill_alpha if distill_alpha is None else distill_alpha,
        distill_temperature=distill_temperature or base.distill_temperature,
    )
    examples = load_all(
        data_dir or default_data_dir(), tickets or DEFAULT_TICKETS, DEFAULT_GENERATED, DEFAULT_WRITTEN
    )
    seed = int(str(load_head(DEFAULT_HEAD, "healthscore model train").meta.get("seed", 13)))
    train_set, test = split(examples, seed)
    fit, validation = carve_validation(train_set, seed)
    tests = test_rows(test, seed)
    target = record or STUDENT_CARD
    data = json.loads(target.read_text(encoding="utf-8")) if target.is_file() else {}
    key = ",".join(map(str, kept))
    entry = data.get(key, {})
    recipe = {
        "layers": list(kept),
        "loso_steps": loso_steps,
        "max_len": teacher_cfg.max_len,
        "distill_alpha": student_cfg.distill_alpha,
        "distill_temperature": student_cfg.distill_temperature,
        "seed": seed,
    }
    if entry.get("recipe") != recipe:
        entry = {"recipe": recipe, "folds": {}}
    folds = student_loso_folds(
        fit,
        validation,
        tests,
        seed=seed,
        teacher_cfg=teacher_cfg,
        student_cfg=student_cfg,
        encoder_dir=default_encoder_dir(),
        cache_dir=BUILD_DIR / "loso",
        progress=lambda m: click.echo(m, err=True),
        int8=not no_int8,
        domains=loso_domains or DOMAINS,
    )
    for fold in folds:
        entry["folds"][fold.domain] = fold.as_dict()
    built = student_dir or STUDENT_DIR
    if (built / "config.json").is_file():
        entry["in_domain"] = _student_in_domain(built, tests)
        entry["student_dir"] = str(built)
    data[key] = entry
    target.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for fold in folds:
        click.echo(
            f"{fold.domain:<24} teacher fp32 {fold.teacher_fp32:.3f}  student fp32 {fold.fp32:.3f}"
            + (f"  int8 {fold.int8:.3f}" if fold.int8 is not None else "")
        )
    click.echo(f"wrote {target}")


def _student_in_domain(student_dir: Path, tests: dict[str, list[Any]]) -> dict[str, dict[str, float]]:
    """The trained student (fp32 torch and its int8 ONNX export) on the same held-out rows as the card."""
    import tempfile

    from nlp import load_default_model
    from nlp.metrics import evaluate

    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="student-") as tmp:
        for backend in ("torch", "onnx-int8"):
            model = load_default_model(student_dir, Path(tmp), backend=backend)
            out["fp32" if backend == "torch" else "int8"] = {
                d: round(
                    evaluate(
                        [e.label for e in rows],
                        [s.label for s in model.classify_many([e.text for e in rows])],
                    ).macro_f1,
                    4,
                )
                for d, rows in tests.items()
                if rows
            }
    return out


def student_candidates(path: Path) -> list[Any]:
    """Rows for the card's LOSO table from the distilled students recorded by `model distil-loso`."""
    from nlp.crossdomain import DOMAINS, Candidate

    if not path.is_file():
        return []
    out = []
    for entry in json.loads(path.read_text(encoding="utf-8")).values():
        recipe, folds = entry["recipe"], entry["folds"]
        layers = ",".join(map(str, recipe["layers"]))
        missing = [d for d in DOMAINS if d not in folds]
        note = (
            f"layers {layers} of the fine-tuned model kept, distilled from each fold's fine-tuned teacher"
            f" (alpha {recipe['distill_alpha']}, T {recipe['distill_temperature']}), {recipe['loso_steps']} steps"
            " per fold; in-domain: the student trained on every source (`healthscore model train --layers"
            f" {layers}`). Each fold's 6-layer teacher, re-run alongside: "
            + ", ".join(f"{d} {f['teacher_fp32']:.3f}" for d, f in sorted(folds.items()))
            + (f". Folds missing: {', '.join(missing)}" if missing else "")
        )
        in_domain = entry.get("in_domain", {})
        n = len(recipe["layers"])
        for kind in ("fp32", "int8"):
            loso = {d: f[kind] for d, f in folds.items() if f.get(kind) is not None}
            if not loso:
                continue
            out.append(
                Candidate(
                    name=f"MiniLM-L{n} student (layers {layers}) distilled, {'fp32' if kind == 'fp32' else 'int8 ONNX'}",
                    in_domain=in_domain.get(kind, {}),
                    loso=loso,
                    note=note if kind == "fp32" else "",
                )
            )
    return out


FROZEN_NAME = "MiniLM-L6 frozen + logistic head (before)"
FINETUNED_FP32 = "MiniLM-L6 fine-tuned end to end, fp32"
FINETUNED_INT8 = "MiniLM-L6 fine-tuned end to end, int8 ONNX"


def _recorded(folder: Path) -> dict[str, Any]:
    """Figures recorded beside the card: speed (benchmarks/sentiment.py), footprint (nlp.footprint) and the
    leave-one-writer-out table (`healthscore model writers`)."""
    out: dict[str, Any] = {}
    for key, name in (("speed", "speed.json"), ("footprint", "footprint.json"), ("writers", "writers.json")):
        path = folder / name
        if path.is_file():
            try:
                out[key] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                click.echo(f"warning: {path} is not JSON; re-run what writes it", err=True)
    return out


def _earlier_candidates(path: Path, current: Sequence[Any]) -> list[Any]:
    """Candidates of the last card that this run did not measure (e.g. an encoder compared once with
    --compare and not installed now): kept on the card with their note saying so, never silently dropped."""
    from nlp.crossdomain import Candidate

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return []
    names = {c.name for c in current}
    out = []
    for c in data.get("candidates", []):
        if c["name"] in names or "student" in c["name"]:
            continue
        note = c.get("note", "")
        if "measured in an earlier run" not in note:
            note = f"{note}; " if note else ""
            note += f"measured in an earlier run (training data {data.get('data', '?')}), not re-run"
        out.append(Candidate(name=c["name"], in_domain=c["in_domain"], loso=c["loso"], note=note))
    return out


def _previous_comparison(path: Path) -> dict[str, Any]:
    from nlp.crossdomain import Candidate

    data = json.loads(path.read_text(encoding="utf-8"))
    cands = tuple(
        Candidate(name=c["name"], in_domain=c["in_domain"], loso=c["loso"], note=c.get("note", ""))
        for c in data.get("candidates", [])
    )
    return {"candidates": cands, "chosen": data.get("chosen", ""), "loso_note": data.get("loso_note", "")}


def _writer_files(folder: Path) -> dict[str, str]:
    """Id prefix -> file name for each file of written messages (the first row's id names its writer)."""
    out: dict[str, str] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out[str(json.loads(line)["id"]).split("-", 1)[0]] = path.name
                break
    return out


@model.command("writers")
@click.option(
    "--steps",
    type=int,
    default=200,
    show_default=True,
    help="Fine-tuning steps per fold (as the LOSO folds).",
)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="JSON the figures are written to (the card shows it). [default: nlp/cards/writers.json]",
)
@_data_options
def writers_cmd(steps: int, record: Path | None, data_dir: Path | None, tickets: Path | None) -> None:
    """Leave-one-writer-out for the written customer messages (data/tickets/written/, one file per sector
    group): does customer text from other sectors help on a new sector's? Fine-tunes once without any
    written text and once per file without that file, and scores each file's held-out messages (fp32).
    About 3-4 minutes per fold on 2 cores; `healthscore model evaluate` puts the table on the card.

    Example: healthscore model writers --steps 200
    """
    from nlp.crossdomain import leave_one_writer_out, with_steps
    from nlp.data import TrainingDataError, split
    from nlp.finetune import FinetuneConfig
    from nlp.head import load_head
    from nlp.paths import (
        DEFAULT_GENERATED,
        DEFAULT_HEAD,
        DEFAULT_TICKETS,
        DEFAULT_WRITTEN,
        WRITERS_CARD,
        default_data_dir,
        default_encoder_dir,
    )
    from nlp.train import carve_validation, load_all

    _require_train_extra()
    try:
        examples = load_all(
            data_dir or default_data_dir(), tickets or DEFAULT_TICKETS, DEFAULT_GENERATED, DEFAULT_WRITTEN
        )
    except TrainingDataError as exc:
        raise _fail(exc) from exc
    seed = int(str(load_head(DEFAULT_HEAD, "healthscore model train").meta.get("seed", 13)))
    train_set, test = split(examples, seed)
    fit, validation = carve_validation(train_set, seed)
    scores = leave_one_writer_out(
        fit,
        validation,
        test,
        seed=seed,
        cfg=with_steps(FinetuneConfig(), steps),
        encoder_dir=default_encoder_dir(),
        progress=lambda m: click.echo(m, err=True),
    )
    target = record or WRITERS_CARD
    files = _writer_files(DEFAULT_WRITTEN)
    payload = {**scores.as_dict(), "steps": steps, "seed": seed, "files": files}
    target.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for w in scores.n:
        click.echo(
            f"{w:<4} n={scores.n[w]:<4} without any written {scores.none[w]:.3f}  with the other files'"
            f" {scores.others[w]:.3f}"
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
    callback=_existing_model_path,
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
