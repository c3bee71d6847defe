#!/usr/bin/python3
"""Parity fixture for the BART port (models/bart).

There is no `transformers` package on the build machines, so this script
rebuilds Hugging Face's `BartForConditionalGeneration` module for module in
plain torch, following transformers v4.26.1:
  src/transformers/models/bart/modeling_bart.py
    BartLearnedPositionalEmbedding (offset 2), BartAttention (q scaled by
    head_dim**-0.5 before QK^T), BartEncoderLayer / BartDecoderLayer (post-LN),
    BartEncoder / BartDecoder (embed_scale, layernorm_embedding),
    BartForConditionalGeneration (tied lm_head + final_logits_bias);
  src/transformers/generation/utils.py greedy_search and beam_search,
  src/transformers/generation/beam_search.py BeamSearchScorer, BeamHypotheses,
  src/transformers/generation/logits_process.py NoRepeatNGram, MinLength,
    ForcedBOSToken, ForcedEOSToken processors;
and the GPT-2 byte-level BPE of openai/gpt-2 src/encoder.py (the algorithm
behind RobertaTokenizer / BartTokenizer).

The reduced config: d_model 32, 2 encoder + 2 decoder layers, 4 heads, FFN 64,
a byte-level vocabulary of 4 specials + 256 bytes + merges learned on a few
captions + <mask>. Weights are seeded random; final_logits_bias of </s> is
raised so that generation ends at different lengths.

Writes, beside this script, a Hugging Face style folder bart_tiny/
(pytorch_model.bin, config.json, generation_config.json, vocab.json,
merges.txt) and bart_tiny_expect.safetensors / bart_tiny_expect.json
(token ids, encoder output, teacher-forced logits, greedy and beam sequences).

Run with Debian's interpreter: /usr/bin/python3 make_fixture.py
"""
import json
import math
import os
import re
import struct

import torch
from torch import nn
import torch.nn.functional as F

EOS_BIAS = float(os.environ.get("EOS_BIAS", "4.0"))
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bart_tiny")

CORPUS = [
    "a red car parked on the street",
    "a man riding a wave on top of a surfboard",
    "two dogs playing in the grass near a tree",
    "a woman holding an umbrella in the rain",
    "a plate of food with broccoli and rice",
    "the cat is sleeping on the couch",
]
TEXTS = [
    "a rfd caz parked on the streat",
    "two dogs",
    "a man riding a wave on top of a surfboard, near the beach!",
]


# ---------------------------------------------------------------- tokenizer
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENC = bytes_to_unicode()
# GPT-2's pattern with \p{L}/\p{N} approximated for ASCII captions (the
# fixture texts are ASCII).
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def learn_merges(corpus, n):
    words = {}
    for line in corpus:
        for tok in PAT.findall(line):
            w = tuple(BYTE_ENC[b] for b in tok.encode())
            words[w] = words.get(w, 0) + 1
    merges = []
    for _ in range(n):
        pairs = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        new = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = c
        words = new
    return merges


def bpe(token, ranks):
    word = tuple(token)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        word = tuple(out)
    return word


def encode(text, vocab, ranks):
    ids = [vocab["<s>"]]
    for tok in PAT.findall(text):
        for piece in bpe("".join(BYTE_ENC[b] for b in tok.encode()), ranks):
            ids.append(vocab[piece])
    ids.append(vocab["</s>"])
    return ids


# ---------------------------------------------------------------- model
class BartLearnedPositionalEmbedding(nn.Embedding):
    def __init__(self, num_embeddings, dim):
        self.offset = 2
        super().__init__(num_embeddings + self.offset, dim)

    def forward(self, input_ids, past_len=0):
        bsz, seq_len = input_ids.shape[:2]
        pos = torch.arange(past_len, past_len + seq_len, dtype=torch.long)
        return super().forward(pos + self.offset).unsqueeze(0).expand(bsz, -1, -1)


class BartAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.scaling = self.head_dim ** -0.5
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def _shape(self, t, bsz):
        return t.view(bsz, -1, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, h, kv=None, mask=None):
        bsz, tgt, dim = h.shape
        src = h if kv is None else kv
        q = self._shape(self.q_proj(h) * self.scaling, bsz)
        k = self._shape(self.k_proj(src), bsz)
        v = self._shape(self.v_proj(src), bsz)
        w = q @ k.transpose(-1, -2)  # [b, heads, tgt, src]
        if mask is not None:
            w = w + mask
        w = F.softmax(w, dim=-1)
        o = (w @ v).transpose(1, 2).reshape(bsz, tgt, dim)
        return self.out_proj(o)


class BartEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.self_attn = BartAttention(d, c["encoder_attention_heads"])
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, c["encoder_ffn_dim"])
        self.fc2 = nn.Linear(c["encoder_ffn_dim"], d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, h, mask):
        h = self.self_attn_layer_norm(h + self.self_attn(h, mask=mask))
        return self.final_layer_norm(h + self.fc2(F.gelu(self.fc1(h))))


class BartDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.self_attn = BartAttention(d, c["decoder_attention_heads"])
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.encoder_attn = BartAttention(d, c["decoder_attention_heads"])
        self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, c["decoder_ffn_dim"])
        self.fc2 = nn.Linear(c["decoder_ffn_dim"], d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, h, causal, enc, enc_mask):
        h = self.self_attn_layer_norm(h + self.self_attn(h, mask=causal))
        h = self.encoder_attn_layer_norm(h + self.encoder_attn(h, kv=enc, mask=enc_mask))
        return self.final_layer_norm(h + self.fc2(F.gelu(self.fc1(h))))


def expand_mask(attn, dtype=torch.float32):
    # [b, src] 1/0 -> additive [b, 1, 1, src]
    return (1.0 - attn[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class BartEncoder(nn.Module):
    def __init__(self, c, shared):
        super().__init__()
        self.embed_scale = math.sqrt(c["d_model"]) if c["scale_embedding"] else 1.0
        self.embed_tokens = shared
        self.embed_positions = BartLearnedPositionalEmbedding(c["max_position_embeddings"], c["d_model"])
        self.layers = nn.ModuleList([BartEncoderLayer(c) for _ in range(c["encoder_layers"])])
        self.layernorm_embedding = nn.LayerNorm(c["d_model"])

    def forward(self, ids, attn):
        h = self.embed_tokens(ids) * self.embed_scale + self.embed_positions(ids)
        h = self.layernorm_embedding(h)
        m = expand_mask(attn)
        for layer in self.layers:
            h = layer(h, m)
        return h


class BartDecoder(nn.Module):
    def __init__(self, c, shared):
        super().__init__()
        self.embed_scale = math.sqrt(c["d_model"]) if c["scale_embedding"] else 1.0
        self.embed_tokens = shared
        self.embed_positions = BartLearnedPositionalEmbedding(c["max_position_embeddings"], c["d_model"])
        self.layers = nn.ModuleList([BartDecoderLayer(c) for _ in range(c["decoder_layers"])])
        self.layernorm_embedding = nn.LayerNorm(c["d_model"])

    def forward(self, ids, enc, enc_attn):
        # No KV cache here: the full prefix is recomputed every step, which
        # gives the same numbers as HF's cached path.
        t = ids.shape[1]
        causal = torch.full((t, t), torch.finfo(torch.float32).min).triu(1)[None, None]
        h = self.embed_tokens(ids) * self.embed_scale + self.embed_positions(ids)
        h = self.layernorm_embedding(h)
        m = expand_mask(enc_attn)
        for layer in self.layers:
            h = layer(h, causal, enc, m)
        return h


class BartModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.shared = nn.Embedding(c["vocab_size"], c["d_model"], c["pad_token_id"])
        self.encoder = BartEncoder(c, self.shared)
        self.decoder = BartDecoder(c, self.shared)


class BartForConditionalGeneration(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = BartModel(c)
        self.register_buffer("final_logits_bias", torch.zeros((1, c["vocab_size"])))
        self.lm_head = nn.Linear(c["d_model"], c["vocab_size"], bias=False)
        self.lm_head.weight = self.model.shared.weight

    def logits(self, dec_ids, enc, enc_attn):
        return self.lm_head(self.model.decoder(dec_ids, enc, enc_attn)) + self.final_logits_bias


# ---------------------------------------------------------------- generation
def process(scores, ids, g, max_length):
    """NoRepeatNGram, MinLength, ForcedBOS, ForcedEOS (v4.26.1 order)."""
    cur = ids.shape[-1]
    n = g["no_repeat_ngram_size"]
    if n > 0 and cur + 1 >= n:
        for i in range(ids.shape[0]):
            seq = ids[i].tolist()
            grams = {}
            for j in range(len(seq) - n + 1):
                grams.setdefault(tuple(seq[j:j + n - 1]), []).append(seq[j + n - 1])
            for tok in grams.get(tuple(seq[cur + 1 - n:cur]), []):
                scores[i, tok] = -float("inf")
    if cur < g["min_length"]:
        scores[:, g["eos_token_id"]] = -float("inf")
    if g["forced_bos_token_id"] is not None and cur == 1:
        scores[:, :] = -float("inf")
        scores[:, g["forced_bos_token_id"]] = 0
    if g["forced_eos_token_id"] is not None and cur == max_length - 1:
        scores[:, :] = -float("inf")
        scores[:, g["forced_eos_token_id"]] = 0
    return scores


def greedy(m, enc, attn, g):
    b = enc.shape[0]
    ids = torch.full((b, 1), g["decoder_start_token_id"], dtype=torch.long)
    unfinished = torch.ones(b, dtype=torch.long)
    while True:
        logits = m.logits(ids, enc, attn)[:, -1, :]
        scores = process(logits.clone(), ids, g, g["max_length"])
        nxt = torch.argmax(scores, dim=-1)
        nxt = nxt * unfinished + g["pad_token_id"] * (1 - unfinished)
        ids = torch.cat([ids, nxt[:, None]], dim=-1)
        unfinished = unfinished.mul((nxt != g["eos_token_id"]).long())
        if unfinished.max() == 0 or ids.shape[-1] >= g["max_length"]:
            break
    return [row.tolist() for row in ids]


class Hyps:
    def __init__(self, k, lp, early):
        self.k, self.lp, self.early = k, lp, early
        self.beams, self.worst = [], 1e9

    def add(self, hyp, s):
        score = s / (hyp.shape[-1] ** self.lp)
        if len(self.beams) < self.k or score > self.worst:
            self.beams.append((score, hyp))
            if len(self.beams) > self.k:
                order = sorted([(x, i) for i, (x, _) in enumerate(self.beams)])
                del self.beams[order[0][1]]
                self.worst = order[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best, cur):
        if len(self.beams) < self.k:
            return False
        if self.early:
            return True
        return self.worst >= best / cur ** self.lp


def beam_search(m, enc, attn, g, k):
    b = enc.shape[0]
    enc = enc.repeat_interleave(k, dim=0)
    attn = attn.repeat_interleave(k, dim=0)
    ids = torch.full((b * k, 1), g["decoder_start_token_id"], dtype=torch.long)
    hyps = [Hyps(k, g["length_penalty"], g["early_stopping"]) for _ in range(b)]
    done = [False] * b
    beam_scores = torch.zeros((b, k))
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    eos, pad = g["eos_token_id"], g["pad_token_id"]
    while True:
        cur = ids.shape[-1]
        logits = m.logits(ids, enc, attn)[:, -1, :]
        s = F.log_softmax(logits, dim=-1)
        s = process(s, ids, g, g["max_length"])
        s = s + beam_scores[:, None]
        V = s.shape[-1]
        s = s.view(b, k * V)
        top, tok = torch.topk(s, 2 * k, dim=1, largest=True, sorted=True)
        nidx = torch.div(tok, V, rounding_mode="floor")
        ntok = tok % V
        nb_scores = torch.zeros((b, k))
        nb_tok = torch.zeros((b, k), dtype=torch.long)
        nb_idx = torch.zeros((b, k), dtype=torch.long)
        for bi in range(b):
            if done[bi]:
                nb_tok[bi] = pad
                continue
            j = 0
            for rank, (t, sc, ix) in enumerate(zip(ntok[bi], top[bi], nidx[bi])):
                bbi = bi * k + ix
                if t.item() == eos:
                    if rank >= k:
                        continue
                    hyps[bi].add(ids[bbi].clone(), sc.item())
                else:
                    nb_scores[bi, j], nb_tok[bi, j], nb_idx[bi, j] = sc, t, bbi
                    j += 1
                if j == k:
                    break
            done[bi] = done[bi] or hyps[bi].is_done(top[bi].max().item(), cur)
        beam_scores = nb_scores.view(-1)
        ids = torch.cat([ids[nb_idx.view(-1)], nb_tok.view(-1, 1)], dim=-1)
        if all(done) or ids.shape[-1] >= g["max_length"]:
            break
    out = []
    for bi in range(b):
        if not done[bi]:
            for j in range(k):
                bbi = bi * k + j
                hyps[bi].add(ids[bbi], beam_scores[bbi].item())
        best = sorted(hyps[bi].beams, key=lambda x: x[0]).pop()
        seq = best[1].tolist()
        if len(seq) < g["max_length"]:
            seq.append(eos)
        out.append(seq)
    return out


# ---------------------------------------------------------------- files
def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    torch.manual_seed(0)
    merges = learn_merges(CORPUS, 60)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for b in range(256):
        vocab[BYTE_ENC[b]] = len(vocab)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<mask>"] = len(vocab)
    ranks = {p: i for i, p in enumerate(merges)}

    c = {
        "model_type": "bart", "architectures": ["BartForConditionalGeneration"],
        "vocab_size": len(vocab), "d_model": 32, "encoder_layers": 2, "decoder_layers": 2,
        "encoder_attention_heads": 4, "decoder_attention_heads": 4,
        "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "max_position_embeddings": 64,
        "activation_function": "gelu", "scale_embedding": True,
        "bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2,
        "decoder_start_token_id": 2, "forced_bos_token_id": 0, "forced_eos_token_id": 2,
        "no_repeat_ngram_size": 3, "num_beams": 4, "early_stopping": True,
        "max_length": 20, "min_length": 0, "length_penalty": 1.0,
    }
    gen = {k: c[k] for k in ("bos_token_id", "pad_token_id", "eos_token_id",
                             "decoder_start_token_id", "forced_bos_token_id",
                             "forced_eos_token_id", "no_repeat_ngram_size", "num_beams",
                             "early_stopping", "max_length", "min_length", "length_penalty")}
    # generation_config.json overrides config.json: a different max length
    # here proves the converter reads it.
    gen["max_length"] = 18

    m = BartForConditionalGeneration(c)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "layer_norm" in name or "layernorm" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.1)
            elif name.endswith("bias"):
                p.normal_(0, 0.1)
        m.model.shared.weight.normal_(0, 0.3)
        m.final_logits_bias.normal_(0, 0.5)
        m.final_logits_bias[0, c["eos_token_id"]] += EOS_BIAS
    m.eval()

    ids = [encode(t, vocab, ranks) for t in TEXTS]
    S = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), S), c["pad_token_id"], dtype=torch.long)
    attn = torch.zeros((len(ids), S), dtype=torch.long)
    for i, x in enumerate(ids):
        input_ids[i, :len(x)] = torch.tensor(x)
        attn[i, :len(x)] = 1

    outs, expect = {}, {"texts": TEXTS, "input_ids": ids}
    with torch.no_grad():
        enc = m.model.encoder(input_ids, attn)
        # teacher-forced decoder input: start token then a fixed sequence
        dec = torch.tensor([[2, 0] + [(7 * i + 3 * j) % (len(vocab) - 5) + 4 for j in range(6)]
                            for i in range(len(ids))])
        logits = m.logits(dec, enc, attn)
        outs["encoder_out"] = enc
        outs["logits"] = logits
        expect["decoder_input_ids"] = dec.tolist()
        g = dict(gen)
        expect["greedy"] = greedy(m, enc, attn, g)
        expect["beam4"] = beam_search(m, enc, attn, g, 4)
        g2 = dict(gen, early_stopping=False, length_penalty=2.0, no_repeat_ngram_size=2, max_length=14)
        expect["beam3_settings"] = {"early_stopping": False, "length_penalty": 2.0,
                                    "no_repeat_ngram_size": 2, "max_length": 14}
        expect["beam3"] = beam_search(m, enc, attn, g2, 3)

    os.makedirs(OUT, exist_ok=True)
    torch.save(m.state_dict(), os.path.join(OUT, "pytorch_model.bin"))
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    with open(os.path.join(OUT, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)
    with open(os.path.join(OUT, "vocab.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(OUT, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(a + " " + b + "\n")
    write_safetensors(os.path.join(HERE, "bart_tiny_expect.safetensors"), outs)
    with open(os.path.join(HERE, "bart_tiny_expect.json"), "w") as f:
        json.dump(expect, f, indent=1)
    print("torch", torch.__version__, "vocab", len(vocab))
    for k, v in outs.items():
        print(k, tuple(v.shape), float(v.abs().max()))
    for k in ("input_ids", "greedy", "beam4", "beam3"):
        print(k, expect[k])


if __name__ == "__main__":
    main()
