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

**Quantised queries.** With ``quantized=True`` the exported file is turned
into an int8 one (ONNX Runtime's dynamic quantisation, one scale per output
channel of each weight matrix; about 2 s, kept beside it), which embeds a
query in well under half the time. Its vectors are close to torch's but not
equal, so it is for queries only: documents are always embedded exactly, and
the index never holds a quantised vector. Before use it must point where
torch's vectors point: cosine at least ``QUANTIZED_MIN_COSINE`` for every
probe text, else the exact encoder is used (README gives the measured effect
on retrieval quality).
"""

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

logger = logging.getLogger("govkm.search")

TOLERANCE = 1e-4
#: the least cosine between a quantised query vector and torch's, per probe
#: (measured here: 0.985 at worst, 0.993 on average over 108 benchmark queries)
QUANTIZED_MIN_COSINE = 0.98
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
    def build(cls, model, model_path, directory, reference, quantized=False):
        """An encoder for the SentenceTransformer ``model`` (loaded from
        ``model_path``), or None if ONNX Runtime is missing, the export fails
        or the result does not match ``reference(text)`` (torch's vector):
        within ``TOLERANCE``, or for a ``quantized`` (int8) encoder within
        ``QUANTIZED_MIN_COSINE``."""
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
            path = _exported(model, model_path, Path(directory))
            if quantized:
                path = _quantized(path)
            return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        kind = "quantised ONNX" if quantized else "ONNX"
        fallback = "the exact encoder" if quantized else "torch"
        try:
            try:
                loaded = session()
            except Exception as exc:  # a damaged file (a full disk, a killed export): export again, once
                logger.warning("exported %s model unreadable (%s); exporting it again", kind, exc)
                exact = _path(model_path, Path(directory))
                for path in (exact, _quantized_path(exact)) if quantized else (exact,):
                    path.unlink(missing_ok=True)
                loaded = session()
            encoder = cls(loaded, model.tokenizer, int(model.max_seq_length or 256))
            if quantized:
                worst = min(float(encoder.encode(t) @ reference(t)) for t in PROBES)
            else:
                worst = max(float(np.abs(encoder.encode(t) - reference(t)).max()) for t in PROBES)
        except Exception as exc:
            logger.warning("%s query encoder unavailable (%s): queries are embedded with %s", kind, exc, fallback)
            return None
        if quantized and worst < QUANTIZED_MIN_COSINE:
            logger.warning("quantised ONNX query vectors point away from torch's (cosine %.3f): "
                           "queries are embedded with the exact encoder", worst)
            return None
        if not quantized and worst > TOLERANCE:
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


def _no_preprocessing_advice(record):
    return not record.getMessage().startswith("Please consider to run pre-processing")


def _quantized_path(exact):
    return exact.with_name(f"{exact.stem}-int8.onnx")


def _quantized(exact):
    """The int8 version of the exported file ``exact``, made once (written
    to a temporary name and renamed, as the export is). Weights are stored
    as signed 8-bit integers with a scale per output channel; activations
    are quantised on the fly, per call."""
    path = _quantized_path(exact)
    if path.exists():
        return path
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = path.with_suffix(f".tmp{os.getpid()}")
    root = logging.getLogger()  # the quantiser advises static-model pre-processing there
    root.addFilter(_no_preprocessing_advice)
    try:
        quantize_dynamic(str(exact), str(tmp), per_channel=True, weight_type=QuantType.QInt8)
    finally:
        root.removeFilter(_no_preprocessing_advice)
    os.replace(tmp, path)
    logger.info("quantised the query encoder to %s", path)
    return path
