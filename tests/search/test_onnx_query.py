"""Queries embedded through ONNX Runtime (search/embeddings/onnx_query.py):
the real model's vectors, the same as torch's; exported once; and torch
whenever ONNX is missing, damaged, switched off or does not match. The
quantised (int8) query encoder: close to torch's vectors, for queries only,
and the exact encoder whenever it is damaged or points elsewhere."""

import concurrent.futures
import logging
import sys

import numpy as np
import pytest

from search.embeddings import onnx_query
from search.embeddings.sentence_transformers import SentenceTransformerEmbedder, SentenceTransformerOptions

pytestmark = pytest.mark.slow

QUERIES = [
    "how do I claim travel expenses",
    "Who approves overtime for part-time staff?",
    "données personnelles durée de conservation",
    "",
    "gifts hospitality declaration threshold " * 60,  # past the model's 256-token window
    "<script>alert(1)</script> \u00e9\u00e8 \U0001f600",
]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    return SentenceTransformerEmbedder(
        SentenceTransformerOptions(query_runtime="onnx", onnx_dir=str(tmp_path_factory.mktemp("models"))))


@pytest.fixture(scope="module")
def quantised(tmp_path_factory):
    return SentenceTransformerEmbedder(SentenceTransformerOptions(onnx_dir=str(tmp_path_factory.mktemp("models8"))))


def test_onnx_gives_torchs_vectors(embedder):
    assert embedder.query_runtime == "onnx"
    for text in QUERIES:
        onnx_vector, torch_vector = embedder.onnx_encoder().encode(text), embedder._torch_query(text)
        assert onnx_vector.shape == (384,) and onnx_vector.dtype == np.float32
        assert np.abs(onnx_vector - torch_vector).max() < onnx_query.TOLERANCE, text[:40]
        assert abs(float(np.linalg.norm(onnx_vector)) - 1.0) < 1e-5


def test_embed_query_goes_through_onnx_and_the_cache(embedder, monkeypatch):
    calls = []
    encoder = embedder.onnx_encoder()
    monkeypatch.setattr(encoder, "encode", lambda text, real=encoder.encode: calls.append(text) or real(text))
    text = "a question asked for the first time 7c1f"
    first = embedder.embed_query(text)
    second = embedder.embed_query(text)
    assert calls == [text] and second is first


def test_concurrent_queries_give_the_same_vectors(embedder):
    texts = [f"{q} {i}" for i in range(6) for q in QUERIES[:3]]
    alone = [embedder.onnx_encoder().encode(t) for t in texts]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        together = list(pool.map(embedder.onnx_encoder().encode, texts))
    assert all(np.array_equal(a, b) for a, b in zip(alone, together))


def test_exported_once_then_reused(embedder, tmp_path):
    path = onnx_query._path(embedder.path, tmp_path)
    assert onnx_query.OnnxQueryEncoder.build(embedder.model, embedder.path, tmp_path, embedder._torch_query)
    stamp = path.stat().st_mtime_ns
    assert onnx_query.OnnxQueryEncoder.build(embedder.model, embedder.path, tmp_path, embedder._torch_query)
    assert path.stat().st_mtime_ns == stamp and len(list(tmp_path.glob("*.onnx"))) == 1
    assert not list(tmp_path.glob("*.tmp*"))


def test_a_damaged_export_is_made_again(embedder, tmp_path):
    path = onnx_query._path(embedder.path, tmp_path)
    path.write_bytes(b"not an onnx model")
    encoder = onnx_query.OnnxQueryEncoder.build(embedder.model, embedder.path, tmp_path, embedder._torch_query)
    assert encoder is not None and path.stat().st_size > 1_000_000


def test_vectors_that_do_not_match_mean_torch(embedder, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="govkm.search"):
        encoder = onnx_query.OnnxQueryEncoder.build(
            embedder.model, embedder.path, tmp_path, lambda text: -embedder._torch_query(text))
    assert encoder is None and "differ from torch" in caplog.text


def test_without_onnxruntime_queries_use_torch(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    embedder = SentenceTransformerEmbedder(SentenceTransformerOptions(onnx_dir=str(tmp_path)))  # int8 asked for
    assert embedder.query_runtime == "torch"
    vector = embedder.embed_query("travel expenses")
    assert np.abs(vector - embedder._torch_query("travel expenses")).max() == 0
    assert not list(tmp_path.iterdir())


def test_runtime_setting(tmp_path):
    embedder = SentenceTransformerEmbedder(SentenceTransformerOptions(query_runtime="torch", onnx_dir=str(tmp_path)))
    assert embedder.query_runtime == "torch" and not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="QUERY_RUNTIME must be one of 'onnx-int8', 'onnx', 'torch', not 'tensorflow'"):
        SentenceTransformerEmbedder(SentenceTransformerOptions(query_runtime="tensorflow"))


def test_small_document_batches_go_through_onnx_with_torchs_vectors(embedder):
    passages = [
        "Staff who travel abroad for a conference claim their expenses within 30 days of return. " * 4,
        "Personnel files are kept for seven years after the end of employment, then destroyed.",
    ]
    small = embedder.embed_documents(passages)
    assert small.shape == (2, 384) and small.dtype == np.float32
    assert np.abs(small - embedder._encode(passages)).max() < onnx_query.TOLERANCE
    big = embedder.embed_documents(passages * 5)  # above small_batch: torch, batched
    assert np.abs(big[:2] - small).max() < onnx_query.TOLERANCE


# --- the quantised query encoder -------------------------------------------------
def cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_quantised_queries_point_where_torchs_do(quantised):
    assert SentenceTransformerOptions().query_runtime == "onnx-int8"  # the default
    assert quantised.query_runtime == "onnx-int8"
    differences = []
    for text in QUERIES:
        vector, torch_vector = quantised.embed_query(text), quantised._torch_query(text)
        assert vector.shape == (384,) and vector.dtype == np.float32
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
        assert cosine(vector, torch_vector) >= onnx_query.QUANTIZED_MIN_COSINE, text[:40]
        differences.append(float(np.abs(vector - torch_vector).max()))
    assert max(differences) > onnx_query.TOLERANCE  # really the int8 model, not the exact one


def test_quantised_runtime_embeds_documents_exactly(quantised):
    passages = ["Personnel files are kept for seven years after the end of employment, then destroyed."]
    assert np.abs(quantised.embed_documents(passages) - quantised._encode(passages)).max() < onnx_query.TOLERANCE
    assert np.abs(quantised.embed_query(passages[0]) - quantised._encode(passages)[0]).max() > onnx_query.TOLERANCE


def test_quantised_file_is_made_once_and_smaller(quantised, tmp_path):
    build = onnx_query.OnnxQueryEncoder.build
    assert build(quantised.model, quantised.path, tmp_path, quantised._torch_query, quantized=True)
    exact = onnx_query._path(quantised.path, tmp_path)
    small = onnx_query._quantized_path(exact)
    stamp = small.stat().st_mtime_ns
    assert small.stat().st_size < exact.stat().st_size / 3
    assert build(quantised.model, quantised.path, tmp_path, quantised._torch_query, quantized=True)
    assert small.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([exact.name, small.name])  # no temporary left


def test_a_damaged_quantised_file_is_made_again(quantised, tmp_path):
    build = onnx_query.OnnxQueryEncoder.build
    assert build(quantised.model, quantised.path, tmp_path, quantised._torch_query, quantized=True)
    small = onnx_query._quantized_path(onnx_query._path(quantised.path, tmp_path))
    small.write_bytes(b"half a file")
    encoder = build(quantised.model, quantised.path, tmp_path, quantised._torch_query, quantized=True)
    assert encoder is not None and small.stat().st_size > 1_000_000


def test_quantised_vectors_that_point_away_mean_the_exact_encoder(quantised, tmp_path, caplog, monkeypatch):
    with caplog.at_level(logging.WARNING, logger="govkm.search"):
        encoder = onnx_query.OnnxQueryEncoder.build(
            quantised.model, quantised.path, tmp_path, lambda text: -quantised._torch_query(text), quantized=True)
    assert encoder is None and "point away from torch's" in caplog.text
    # an embedder whose quantised encoder fails its check embeds queries exactly
    real_build = onnx_query.OnnxQueryEncoder.build.__func__
    monkeypatch.setattr(onnx_query.OnnxQueryEncoder, "build", classmethod(
        lambda cls, *args, quantized=False: None if quantized else real_build(cls, *args)))
    fallback = SentenceTransformerEmbedder(SentenceTransformerOptions(onnx_dir=str(tmp_path)))
    assert fallback.query_runtime == "onnx"
    text = "how long are personnel files kept"
    assert np.abs(fallback.embed_query(text) - fallback._torch_query(text)).max() < onnx_query.TOLERANCE
