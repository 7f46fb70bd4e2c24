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
"""

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

logger = logging.getLogger("govkm.search")

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
    def build(cls, model, model_path, directory, reference):
        """An encoder for the SentenceTransformer ``model`` (loaded from
        ``model_path``), or None if ONNX Runtime is missing, the export fails
        or the result does not match ``reference(text)`` (torch's vector)."""
        try:
            import onnxruntime
        except ImportError:
            logger.info("onnxruntime is not installed: queries are embedded with torch")
            return None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL

        def session():
            return onnxruntime.InferenceSession(
                str(_exported(model, model_path, Path(directory))), options, providers=["CPUExecutionProvider"])

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
            logger.warning("ONNX query encoder unavailable (%s): queries are embedded with torch", exc)
            return None
        if worst > TOLERANCE:
            logger.warning("ONNX query vectors differ from torch's by %.2g: queries are embedded with torch", worst)
            return None
        return encoder


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
