"""Query vectors through ONNX Runtime: the same numbers, a third of the time.

A web request embeds a query nobody asked before on one CPU thread. Through
torch and sentence-transformers that takes about 12.5 ms on the 2-core
reference machine, most of it in Python around the model; the same network
run by ONNX Runtime takes about 4.3 ms (README, docs/architecture.md).

The ONNX file is exported here from the local weights the first time it is
needed (about 2 s) and kept in ``VAR_DIR/models``; nothing is downloaded.
Before it is used, it must reproduce the torch pipeline's vectors for a set
of probe texts (largest difference below ``TOLERANCE``); a model whose
modules differ (another pooling, no normalisation) fails that check and the
embedder keeps torch. The few chunks an edit re-embeds go through it one by
one too; large batches (a reindex) stay with torch, which batches them.

A faster int8 copy of the model was used for queries until 2026-12-01 and
was dropped: how closely its vectors followed torch's depended on the CPU's
instruction set (cosine 0.988 at worst on an AVX-512 VNNI machine, 0.979 on
an AVX2 one, where it fell back), so search ranked differently from one
machine to the next for a gain of 1.7 ms per never-seen query here
(docs/performance.md).
"""

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

logger = logging.getLogger("govkm.search")

#: the largest difference allowed between an ONNX vector and torch's, per
#: component and probe (measured: 1.6e-7)
TOLERANCE = 1e-4
PROBES = [
    "warm up",
    "How do I claim travel expenses after a conference abroad?",
    "retention period for personnel files",
    "Wer genehmigt Dienstreisen?",
    "procurement threshold " * 40,  # longer than the model's window: truncation must match
]


class OnnxQueryEncoder:
    """transformer → mean pooling → L2 normalisation, one text at a time."""

    def __init__(self, session, tokenizer, max_tokens):
        from tokenizers import Tokenizer

        self.session = session
        # A private copy of the fast tokenizer, configured once: one text, no
        # padding, cut at the model's window. Reconfiguring a shared one per
        # call is what makes tokenizers fail under threads ("Already borrowed").
        self.tokenizer = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        self.input_names = {i.name for i in session.get_inputs()}

    def encode(self, text):
        encoding = self.tokenizer.encode(text)
        feed = {
            "input_ids": np.asarray([encoding.ids], dtype=np.int64),
            "attention_mask": np.asarray([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64),
        }
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.input_names})[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        vector = pooled[0].astype(np.float32)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    @classmethod
    def build(cls, model, model_path, directory, reference, tolerance=None):
        """``load``, or None when it refuses (the reason is logged once)."""
        try:
            return cls.load(model, model_path, directory, reference, tolerance)
        except OnnxUnavailable as refused:
            logger.log(refused.level, "%s: queries are embedded with torch", refused)
            return None

    @classmethod
    def load(cls, model, model_path, directory, reference, tolerance=None):
        """An encoder for the SentenceTransformer ``model`` (loaded from
        ``model_path``), exported into ``directory`` on first use. Raises
        ``OnnxUnavailable`` if ONNX Runtime is missing, the export fails, or
        its vectors differ from ``reference(text)`` (torch's) by more than
        ``tolerance`` (default ``TOLERANCE``) on any probe text."""
        tolerance = TOLERANCE if tolerance is None else tolerance
        try:
            import onnxruntime
        except ImportError:
            raise OnnxUnavailable("onnxruntime is not installed", logging.INFO) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL

        def session():
            path = _exported(model, model_path, Path(directory))
            return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        try:
            try:
                loaded = session()
            except Exception as exc:  # a damaged file (a full disk, a killed export): export again, once
                logger.warning("exported ONNX model unreadable (%s); exporting it again", exc)
                _path(model_path, Path(directory)).unlink(missing_ok=True)
                loaded = session()
            encoder = cls(loaded, model.tokenizer, int(model.max_seq_length or 256))
            worst = max(float(np.abs(encoder.encode(t) - reference(t)).max()) for t in PROBES)
        except Exception as exc:
            raise OnnxUnavailable(f"ONNX query encoder unavailable ({exc})") from exc
        if worst > tolerance:
            raise OnnxUnavailable(f"ONNX query vectors differ from torch's by {worst:.2g} (allowed {tolerance:.2g})")
        encoder.agreement = worst
        return encoder


class OnnxUnavailable(Exception):
    """Why queries are not embedded through ONNX Runtime (shown in the log
    and on the admin's search index report)."""

    def __init__(self, reason, level=logging.WARNING):
        super().__init__(reason)
        self.level = level


def _fingerprint(model_path):
    """Changes when the weights, the exporter or the model's window change."""
    import torch

    digest = hashlib.sha256(torch.__version__.encode())
    for file in sorted(Path(model_path).rglob("*")):
        if file.is_file() and file.suffix in {".safetensors", ".bin", ".json"}:
            stat = file.stat()
            digest.update(f"{file.relative_to(model_path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _path(model_path, directory):
    return directory / f"{Path(str(model_path).rstrip('/')).name}-{_fingerprint(model_path)}.onnx"


def _exported(model, model_path, directory):
    """The model's transformer as an ONNX file, exported once per fingerprint
    (written to a temporary name and renamed, so concurrent workers never
    read half a file)."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    path = _path(model_path, directory)
    if path.exists():
        return path
    transformer = model[0].auto_model.eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = model.tokenizer(["a short query", "a second, somewhat longer example query"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on transformers' mask code
        torch.onnx.export(
            LastHiddenState(transformer), tuple(sample[n] for n in names), str(tmp),
            input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
            opset_version=17, do_constant_folding=True, dynamo=False,
        )
    os.replace(tmp, path)
    logger.info("exported the embedding model to %s", path)
    return path
