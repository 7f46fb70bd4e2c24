"""Queries embedded through ONNX Runtime (search/embeddings/onnx_query.py):
the real model's vectors, the same as torch's; exported once; and torch
whenever ONNX is missing, damaged, switched off or does not match — said
once in the log and on the admin's search index report. Whether ONNX is
accepted on this CPU is decided by its agreement with torch: the tests hold
that behaviour with tolerances they set themselves, so they pass on any
x86-64 machine."""

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


def _nudged(embedder, by):
    """torch's vector with every component moved by ``by``: a reference
    that ONNX disagrees with by exactly that much, on any CPU."""
    return lambda text: embedder._torch_query(text) + np.float32(by)


def test_agreement_within_the_tolerance_is_accepted_and_beyond_it_refused(embedder, tmp_path):
    build = onnx_query.OnnxQueryEncoder.build
    assert build(embedder.model, embedder.path, tmp_path, _nudged(embedder, 1e-3), tolerance=1e-2)
    assert build(embedder.model, embedder.path, tmp_path, _nudged(embedder, 1e-3), tolerance=1e-4) is None


def test_vectors_that_do_not_match_mean_torch_said_once_in_the_log_and_on_the_report(
        embedder, tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(onnx_query, "TOLERANCE", -1.0)  # nothing agrees: as on a CPU where ONNX drifts
    fallback = SentenceTransformerEmbedder(SentenceTransformerOptions(onnx_dir=str(tmp_path)))
    with caplog.at_level(logging.WARNING, logger="govkm.search"):
        assert fallback.query_runtime == "torch"
        vector = fallback.embed_query("how long are personnel files kept")
        fallback.embed_query("who signs off overtime")
        assert fallback.query_runtime == "torch"
    assert np.abs(vector - fallback._torch_query("how long are personnel files kept")).max() == 0
    refusals = [r for r in caplog.records if "differ from torch" in r.getMessage()]
    assert len(refusals) == 1, caplog.text  # said once, not per query
    assert fallback.query_runtime_detail().startswith("torch, since ONNX Runtime was refused: ONNX query vectors differ")
    assert embedder.query_runtime_detail().startswith("ONNX Runtime")


def test_without_onnxruntime_queries_use_torch(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    embedder = SentenceTransformerEmbedder(SentenceTransformerOptions(onnx_dir=str(tmp_path)))  # onnx asked for
    assert embedder.query_runtime == "torch"
    assert "onnxruntime is not installed" in embedder.query_runtime_detail()
    vector = embedder.embed_query("travel expenses")
    assert np.abs(vector - embedder._torch_query("travel expenses")).max() == 0
    assert not list(tmp_path.iterdir())


def test_runtime_setting(tmp_path, caplog):
    assert SentenceTransformerOptions().query_runtime == "onnx"  # the default
    embedder = SentenceTransformerEmbedder(SentenceTransformerOptions(query_runtime="torch", onnx_dir=str(tmp_path)))
    assert embedder.query_runtime == "torch" and not list(tmp_path.iterdir())
    assert embedder.query_runtime_detail() == "torch (KM_QUERY_RUNTIME=torch)"
    with pytest.raises(ValueError, match="QUERY_RUNTIME must be one of 'onnx', 'torch', not 'tensorflow'"):
        SentenceTransformerEmbedder(SentenceTransformerOptions(query_runtime="tensorflow"))
    with caplog.at_level(logging.WARNING, logger="govkm.search"):  # the removed int8 runtime: exact ONNX instead
        old = SentenceTransformerEmbedder(SentenceTransformerOptions(query_runtime="onnx-int8", onnx_dir=str(tmp_path)))
    assert old.options.query_runtime == "onnx" and "'onnx-int8' was removed" in caplog.text


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


@pytest.mark.django_db
def test_the_search_index_report_says_what_embeds_queries_and_why(client, settings, tmp_path, monkeypatch):
    from search.backends import reset_backends
    from tests import factories as f

    monkeypatch.setattr(onnx_query, "TOLERANCE", -1.0)  # as on a CPU where ONNX does not agree
    settings.KM_EMBEDDER = {"BACKEND": "search.embeddings.sentence_transformers.SentenceTransformerEmbedder",
                            "OPTIONS": {"MODEL": "", "ONNX_DIR": str(tmp_path)}}
    reset_backends()
    client.force_login(f.user("admin1", "administrator"))
    html = client.get("/admin/reports/search-index/").content.decode()
    assert "queries are embedded by torch, since ONNX Runtime was refused: ONNX query vectors differ" in html
