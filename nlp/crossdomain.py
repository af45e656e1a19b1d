"""Cross-domain measurement: leave-one-source-out (LOSO) for the fine-tuned model and for frozen encoders.

LOSO trains on every source but one and tests on the held-out split of the one left out. It is the best
estimate here of how a model does on text unlike anything it was tuned on (a customer's real tickets), so
models are chosen on its mean, not on in-domain figures. When "tickets" is left out, the rule-generated
support text goes too: it was written by the same people in the same vocabulary, and would leak.

Needs the `train` extra (torch, transformers, scikit-learn).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nlp.data import SUPPORT_SOURCES, TICKET_FAMILY, WRITTEN_SOURCE, Example
from nlp.finetune import FinetuneConfig
from nlp.metrics import evaluate
from nlp.preprocess import clean_message
from nlp.sentiment import LABELS

logger = logging.getLogger(__name__)

# The domains that are left out in turn; support_generated is training material only, never a test domain.
DOMAINS = (
    "amazon_review_snippets",
    "movie_review_snippets",
    "nyt_editorial_snippets",
    "tweets",
    "tickets",
    WRITTEN_SOURCE,
)
# Held-out rows scored per left-out domain at most (seeded): bounds the time of a LOSO round.
TEST_CAP = 700


def left_out(domain: str) -> frozenset[str]:
    """The sources dropped from training when `domain` is the test domain."""
    return frozenset(TICKET_FAMILY) if domain == "tickets" else frozenset({domain})


def capped(rows: Sequence[Example], cap: int, seed: int) -> list[Example]:
    """At most `cap` rows, chosen by seed, in their original order."""
    if len(rows) <= cap:
        return list(rows)
    keep = sorted(np.random.default_rng(seed).permutation(len(rows))[:cap])
    return [rows[i] for i in keep]


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One model's in-domain and LOSO macro-F1 per domain (same test rows for both)."""

    name: str
    in_domain: dict[str, float]
    loso: dict[str, float]
    note: str = ""

    @property
    def in_domain_mean(self) -> float:
        """Mean over DOMAINS present."""
        vals = [self.in_domain[d] for d in DOMAINS if d in self.in_domain]
        return float(np.mean(vals)) if vals else float("nan")

    @property
    def loso_mean(self) -> float:
        """Mean over DOMAINS present: the selection criterion."""
        vals = [self.loso[d] for d in DOMAINS if d in self.loso]
        return float(np.mean(vals)) if vals else float("nan")

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "name": self.name,
            "in_domain": {k: round(v, 4) for k, v in self.in_domain.items()},
            "loso": {k: round(v, 4) for k, v in self.loso.items()},
            "in_domain_mean": round(self.in_domain_mean, 4),
            "loso_mean": round(self.loso_mean, 4),
            "note": self.note,
        }


def test_rows(test: Sequence[Example], seed: int) -> dict[str, list[Example]]:
    """The capped held-out rows of each domain (the same rows for every candidate)."""
    return {d: capped([e for e in test if e.source == d], TEST_CAP, seed) for d in DOMAINS}


def frozen_candidate(
    name: str,
    encoder_dir: Path,
    fit: Sequence[Example],
    tests: dict[str, list[Example]],
    *,
    seed: int,
    per_source: int,
    note: str = "",
) -> Candidate:
    """A frozen encoder with a logistic-regression head: embed once, fit in-domain and once per LOSO fold."""
    from nlp.encoder import TorchEncoder, load_tokenizer
    from nlp.head import LinearHead
    from nlp.model import SentimentModel
    from nlp.train import TICKET_WEIGHT, fit_head, subsample

    encoder = TorchEncoder(encoder_dir)
    model = SentimentModel(
        encoder=encoder,
        tokenizer=load_tokenizer(encoder_dir, "reinstall"),
        head=LinearHead(weight=np.zeros((3, encoder.hidden_size), np.float32), bias=np.zeros(3, np.float32)),
        max_len=128,
        max_chunks=1,
    )
    train_rows = subsample(fit, per_source, seed)
    test_all = [e for d in DOMAINS for e in tests[d]]
    x = model.embed([clean_message(e.text) for e in [*train_rows, *test_all]])
    x_train, x_test = x[: len(train_rows)], x[len(train_rows) :]
    y = np.asarray([LABELS.index(e.label) for e in train_rows])
    w = np.asarray([TICKET_WEIGHT if e.source in SUPPORT_SOURCES else 1.0 for e in train_rows])
    sources = np.asarray([e.source for e in train_rows])
    test_src = np.asarray([e.source for e in test_all])
    gold = [e.label for e in test_all]

    def score(keep: np.ndarray, domain: str) -> float:
        weight, bias = fit_head(x_train[keep], y[keep], w[keep], seed)
        pick = test_src == domain
        pred = (x_test[pick] @ weight.T + bias).argmax(1)
        return evaluate([g for g, p in zip(gold, pick, strict=True) if p], [LABELS[k] for k in pred]).macro_f1

    everything = np.ones(len(train_rows), dtype=bool)
    in_domain = {d: score(everything, d) for d in DOMAINS if tests[d]}
    loso = {d: score(~np.isin(sources, sorted(left_out(d))), d) for d in DOMAINS if tests[d]}
    return Candidate(name=name, in_domain=in_domain, loso=loso, note=note)


@dataclass(frozen=True, slots=True, kw_only=True)
class FoldScores:
    """Macro-F1 per left-out domain of the fine-tuned recipe: fp32 (in memory) and its int8 ONNX export."""

    fp32: dict[str, float]
    int8: dict[str, float]
    seconds: dict[str, float]


def finetuned_loso_scores(
    fit: Sequence[Example],
    validation: Sequence[Example],
    tests: dict[str, list[Example]],
    *,
    seed: int,
    cfg: FinetuneConfig,
    encoder_dir: Path,
    progress: Callable[[str], None] | None = None,
    int8: bool = True,
    domains: Sequence[str] = DOMAINS,
) -> FoldScores:
    """Fine-tune once per left-out domain and score that domain in fp32 and, with `int8`, through the same
    int8 ONNX export the shipped model gets (so the shipped runtime has a LOSO figure of its own)."""
    import time

    from nlp.finetune import finetune, live_model, training_rows

    fp32: dict[str, float] = {}
    quant: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for domain in domains:
        if not tests.get(domain):
            continue
        started = time.perf_counter()
        drop = left_out(domain)
        rows = training_rows([e for e in fit if e.source not in drop], cfg, seed)
        val = [e for e in validation if e.source not in drop]
        if progress:
            progress(f"LOSO {domain}: fine-tuning on {len(rows)} rows, {cfg.steps} steps")
        result = finetune(rows, val, seed=seed, cfg=cfg, encoder_dir=encoder_dir)
        gold = [e.label for e in tests[domain]]
        texts = [e.text for e in tests[domain]]
        model = live_model(result.encoder, encoder_dir, result.head)
        fp32[domain] = evaluate(gold, [s.label for s in model.classify_many(texts)]).macro_f1
        if int8:
            quant[domain] = _int8_score(result, encoder_dir, texts, gold)
        seconds[domain] = time.perf_counter() - started
        if progress:
            extra = f", int8 {quant[domain]:.3f}" if domain in quant else ""
            progress(f"LOSO {domain}: macro-F1 fp32 {fp32[domain]:.3f}{extra} ({seconds[domain]:.0f}s)")
    return FoldScores(fp32=fp32, int8=quant, seconds=seconds)


def _int8_score(result: object, encoder_dir: Path, texts: Sequence[str], gold: Sequence[str]) -> float:
    """Save the fold's encoder, export + quantise it as `healthscore model train` does, score on ONNX int8."""
    import tempfile

    from nlp.encoder import OnnxEncoder, load_tokenizer
    from nlp.export import export
    from nlp.finetune import save_encoder
    from nlp.model import SentimentModel

    with tempfile.TemporaryDirectory(prefix="loso-") as tmp:
        saved = Path(tmp) / "encoder"
        save_encoder(result.encoder, encoder_dir, saved)  # type: ignore[attr-defined]
        _, int8 = export(saved, Path(tmp) / "instance", force=True)
        model = SentimentModel(
            encoder=OnnxEncoder(int8, "healthscore model evaluate --loso"),
            tokenizer=load_tokenizer(saved, "reinstall"),
            head=result.head,  # type: ignore[attr-defined]
        )
        got = [s.label for s in model.classify_many(texts)]
    return evaluate(list(gold), got).macro_f1


def with_steps(cfg: FinetuneConfig, steps: int, max_len: int | None = None) -> FinetuneConfig:
    """The same fine-tuning recipe with a different step budget (and, to save time, shorter inputs)."""
    return replace(cfg, steps=steps, max_len=max_len or cfg.max_len)


@dataclass(frozen=True, slots=True, kw_only=True)
class StudentFold:
    """One LOSO fold of the distilled student: its teacher (the fine-tuned recipe's own fold) and the student."""

    domain: str
    teacher_fp32: float
    fp32: float
    int8: float | None
    seconds: float

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "teacher_fp32": round(self.teacher_fp32, 4),
            "fp32": round(self.fp32, 4),
            "int8": None if self.int8 is None else round(self.int8, 4),
            "seconds": round(self.seconds, 1),
        }


def student_loso_folds(
    fit: Sequence[Example],
    validation: Sequence[Example],
    tests: dict[str, list[Example]],
    *,
    seed: int,
    teacher_cfg: FinetuneConfig,
    student_cfg: FinetuneConfig,
    encoder_dir: Path,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    int8: bool = True,
    domains: Sequence[str] = DOMAINS,
) -> list[StudentFold]:
    """For each left-out domain: fine-tune the teacher exactly as `finetuned_loso_scores` does (or reuse it
    from `cache_dir`), distil the student from that fold's teacher on the same rows, and score both on the
    left-out domain (the student also through its int8 ONNX export). The teacher never saw the left-out
    domain either, so nothing leaks into the student."""
    import time

    from nlp.finetune import Teacher, finetune, live_model, load_teacher, save_encoder, training_rows
    from nlp.paths import HEAD_FILENAME

    out: list[StudentFold] = []
    for domain in domains:
        if not tests.get(domain):
            continue
        started = time.perf_counter()
        drop = left_out(domain)
        rows = training_rows([e for e in fit if e.source not in drop], teacher_cfg, seed)
        val = [e for e in validation if e.source not in drop]
        gold = [e.label for e in tests[domain]]
        texts = [e.text for e in tests[domain]]
        cached = (
            cache_dir / f"{domain}-seed{seed}-steps{teacher_cfg.steps}-len{teacher_cfg.max_len}"
            if cache_dir is not None
            else None
        )
        if cached is not None and (cached / HEAD_FILENAME).is_file():
            teacher = load_teacher(cached)
            if progress:
                progress(f"LOSO {domain}: teacher reused from {cached}")
        else:
            if progress:
                progress(
                    f"LOSO {domain}: fine-tuning the teacher on {len(rows)} rows, {teacher_cfg.steps} steps"
                )
            result = finetune(rows, val, seed=seed, cfg=teacher_cfg, encoder_dir=encoder_dir)
            teacher = Teacher(encoder=result.encoder, head=result.head)
            if cached is not None:
                save_encoder(result.encoder, encoder_dir, cached)
                result.head.save(cached / HEAD_FILENAME)
        teacher_f1 = evaluate(
            gold,
            [s.label for s in live_model(teacher.encoder, encoder_dir, teacher.head).classify_many(texts)],
        ).macro_f1
        if progress:
            progress(f"LOSO {domain}: teacher fp32 {teacher_f1:.3f}; distilling layers {student_cfg.layers}")
        student = finetune(rows, val, seed=seed, cfg=student_cfg, encoder_dir=encoder_dir, teacher=teacher)
        model = live_model(student.encoder, encoder_dir, student.head)
        fp32 = evaluate(gold, [s.label for s in model.classify_many(texts)]).macro_f1
        quant = _int8_score(student, encoder_dir, texts, gold) if int8 else None
        fold = StudentFold(
            domain=domain,
            teacher_fp32=teacher_f1,
            fp32=fp32,
            int8=quant,
            seconds=time.perf_counter() - started,
        )
        out.append(fold)
        if progress:
            extra = f", int8 {quant:.3f}" if quant is not None else ""
            progress(f"LOSO {domain}: student fp32 {fp32:.3f}{extra} ({fold.seconds:.0f}s)")
    return out


def writer_of(example: Example) -> str:
    """The file (sector group) a written customer message came from: its id prefix ("wa-0012" -> "wa")."""
    return example.id.split("-", 1)[0]


def writer_folds(test: Sequence[Example]) -> dict[str, list[Example]]:
    """Held-out written messages grouped by writer: each group is one leave-one-writer-out test set."""
    out: dict[str, list[Example]] = {}
    for e in test:
        if e.source == WRITTEN_SOURCE:
            out.setdefault(writer_of(e), []).append(e)
    return dict(sorted(out.items()))


def without_written(rows: Sequence[Example]) -> list[Example]:
    """`rows` minus every written customer message."""
    return [e for e in rows if e.source != WRITTEN_SOURCE]


def without_writer(rows: Sequence[Example], writer: str) -> list[Example]:
    """`rows` minus the written messages of one writer (every other source and writer kept)."""
    return [e for e in rows if not (e.source == WRITTEN_SOURCE and writer_of(e) == writer)]


@dataclass(frozen=True, slots=True, kw_only=True)
class WriterScores:
    """Macro-F1 on each writer's held-out messages: trained without any written text, without that writer's
    (the other sector groups' messages kept), and with everything (in-domain)."""

    none: dict[str, float]
    others: dict[str, float]
    n: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "none": {k: round(v, 4) for k, v in self.none.items()},
            "others": {k: round(v, 4) for k, v in self.others.items()},
            "n": self.n,
        }


def leave_one_writer_out(
    fit: Sequence[Example],
    validation: Sequence[Example],
    test: Sequence[Example],
    *,
    seed: int,
    cfg: FinetuneConfig,
    encoder_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> WriterScores:
    """Does written customer text from other sectors help on a new sector's? One fine-tune without any
    written text, then one per writer without that writer's messages; each scored (fp32) on that writer's
    held-out messages, which no fold trained on."""
    from nlp.finetune import finetune, live_model, training_rows

    groups = writer_folds(test)

    def fold(kept: Callable[[Sequence[Example]], list[Example]]) -> Any:
        """A fine-tune on what `kept` leaves of the fit and validation rows."""
        result = finetune(
            training_rows(kept(fit), cfg, seed), kept(validation), seed=seed, cfg=cfg, encoder_dir=encoder_dir
        )
        return live_model(result.encoder, encoder_dir, result.head)

    def score(model: Any, rows: Sequence[Example]) -> float:
        return evaluate(
            [e.label for e in rows], [s.label for s in model.classify_many([e.text for e in rows])]
        ).macro_f1

    if progress:
        progress("writers: fine-tuning without any written text")
    bare = fold(without_written)
    none = {w: score(bare, rows) for w, rows in groups.items()}
    others: dict[str, float] = {}
    for w, rows in groups.items():
        if progress:
            progress(f"writers: fine-tuning without writer {w}")
        others[w] = score(fold(partial(without_writer, writer=w)), rows)
        if progress:
            progress(
                f"writers: {w} macro-F1 without any written {none[w]:.3f}, with the others' {others[w]:.3f}"
            )
    return WriterScores(none=none, others=others, n={w: len(r) for w, r in groups.items()})
