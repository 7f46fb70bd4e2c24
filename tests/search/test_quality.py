"""Retrieval quality with the real embedding model on the shipped collection."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
COLLECTION = Path(__file__).resolve().parent.parent / "data" / "civil_service_beir"


def test_hybrid_beats_lexical_and_semantic_on_the_civil_service_collection(real_embedder, tmp_path):
    out = tmp_path / "eval.json"
    stdout = io.StringIO()
    call_command("search_eval", beir=str(COLLECTION), mode="all", json_out=str(out), stdout=stdout)
    report = json.loads(out.read_text())
    print(stdout.getvalue())
    assert set(report) == {"lexical", "semantic", "hybrid"}
    for mode, figures in report.items():
        assert set(figures) == {"ndcg@10", "recall@100", "mrr@10", "p50_ms", "p95_ms"}, mode
        assert 0 <= figures["ndcg@10"] <= 1
    hybrid = report["hybrid"]["ndcg@10"]
    assert hybrid > report["lexical"]["ndcg@10"]
    assert hybrid > report["semantic"]["ndcg@10"]
    assert report["hybrid"]["recall@100"] >= max(report["lexical"]["recall@100"], report["semantic"]["recall@100"])
    assert "nDCG@10" in stdout.getvalue() and "Queries (hybrid)" in stdout.getvalue()


def test_eval_leaves_no_trace_in_site_content(real_embedder):
    from django.conf import settings

    from search.models import Chunk

    call_command("search_eval", beir=str(COLLECTION), mode="lexical", stdout=io.StringIO())
    assert not Chunk.objects.exists()
    assert not [d for d in settings.KM_SEARCH_INDEX_DIR.glob("eval-*") if any(d.glob("g*"))]


def test_broken_collection_is_reported(tmp_path):
    from django.core.management.base import CommandError

    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n{broken\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n')
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    with pytest.raises(CommandError, match="corpus.jsonl:2"):
        call_command("search_eval", beir=str(tmp_path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="missing"):
        call_command("search_eval", beir=str(tmp_path / "nowhere"), stdout=io.StringIO())


def test_real_model_finds_paraphrases(real_embedder):
    from search.embeddings import get_embedder

    embedder = get_embedder()
    assert embedder.dimension == 384
    q = embedder.embed_query("I left my work laptop on the train")
    near, far = embedder.embed_documents(
        ["Report a lost or stolen device to the service desk at once", "Annual leave must be booked in advance"]
    )
    assert q @ near > q @ far
