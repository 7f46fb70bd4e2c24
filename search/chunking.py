"""Split sections into chunks bounded by the embedding model's token limit.

A chunk never crosses a section boundary; inside a long section, chunks
overlap by ``overlap`` tokens so a sentence cut at the edge is whole in one
of them. Token counts use the embedder's own tokenizer when it has one.
"""

import dataclasses
import hashlib
import re

SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")


@dataclasses.dataclass
class ChunkText:
    position: int
    heading: str
    text: str
    source: str

    def content_hash(self, title, summary, model_id):
        payload = "\x1f".join([model_id, title, summary, self.heading, self.text])
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _approx_tokens(text):
    # all-MiniLM's WordPiece splits ~1.3 tokens per English word
    return int(len(text.split()) * 1.3) + 1


def chunk_sections(sections, max_tokens=180, overlap=40, count_tokens=None):
    count = count_tokens or _approx_tokens
    if overlap >= max_tokens:
        raise ValueError("chunk overlap must be smaller than the chunk size")
    chunks = []
    # A section too short to stand alone (a role, a one-line fact) travels
    # with the next section instead of becoming a tiny chunk that BM25's
    # length normalisation would over-reward.
    merged, carry = [], []
    for section in sections:
        if count(section.text) < max_tokens // 4 and section is not sections[-1]:
            carry.append(f"{section.heading}: {section.text}" if section.heading else section.text)
            continue
        if carry:
            section = type(section)(section.heading, "\n".join(carry + [section.text]), section.source)
            carry = []
        merged.append(section)
    for section in merged:
        units = [u.strip() for u in SENTENCE.split(section.text) if u and u.strip()]
        # A single over-long sentence is cut into word windows.
        pieces = []
        for unit in units:
            if count(unit) <= max_tokens:
                pieces.append(unit)
            else:
                w = unit.split()
                step = max(1, int(max_tokens / 1.3) - 1)
                pieces.extend(" ".join(w[i : i + step]) for i in range(0, len(w), step))
        current, current_tokens = [], 0
        for piece in pieces:
            t = count(piece)
            if current and current_tokens + t > max_tokens:
                chunks.append(ChunkText(len(chunks), section.heading, " ".join(current), section.source))
                # carry the tail of the previous chunk as overlap
                tail, tail_tokens = [], 0
                for prev in reversed(current):
                    pt = count(prev)
                    if tail_tokens + pt > overlap:
                        break
                    tail.insert(0, prev)
                    tail_tokens += pt
                current, current_tokens = tail, tail_tokens
            current.append(piece)
            current_tokens += t
        if current:
            chunks.append(ChunkText(len(chunks), section.heading, " ".join(current), section.source))
    return chunks
