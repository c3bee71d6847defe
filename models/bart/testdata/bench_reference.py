#!/usr/bin/python3
"""PyTorch anchor for the BART benchmark (models/bart bench_test.go).

Runs make_fixture.py's module-for-module BartForConditionalGeneration
(transformers v4.26.1 semantics) at full size on the weights the Go port
exported (TestExportReference: weights.safetensors + bench_inputs.json), with
HF's incremental decoding: decoder self-attention keys/values cached and
reordered between beams (index_select), cross-attention keys/values computed
once from the encoder output expanded over beams — the work HF's generate()
does with use_cache=True. Same generation rules as the fixture (greedy and
beam search, NoRepeatNGram, MinLength, ForcedBOS/EOS), same 100 captions,
same batch, max_length from bench_inputs.json.

  /usr/bin/python3 bench_reference.py DIR [--threads 2] [--beams 1] [--batch 100] [--runs 3]

Prints the median seconds, captions/s and peak RSS, and how many leading
tokens of its greedy output on the first four captions equal the Go port's.
"""
import argparse
import json
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixture import BartForConditionalGeneration, Hyps, expand_mask, process  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        buf = np.memmap(path, dtype=np.uint8, mode="r")
        for k, e in header.items():
            a, b = e["data_offsets"]
            out[k] = torch.from_numpy(np.frombuffer(buf[base + a:base + b], dtype=np.float32).copy()).view(e["shape"])
        return out


def shape(t, b, heads):
    return t.view(b, -1, heads, t.shape[-1] // heads).transpose(1, 2)


class Cached:
    """Incremental decoding over a BartForConditionalGeneration."""

    def __init__(self, m, enc, attn):
        self.m = m
        dec = m.model.decoder
        self.heads = dec.layers[0].self_attn.heads
        b = enc.shape[0]
        self.cross = [(shape(l.encoder_attn.k_proj(enc), b, self.heads),
                       shape(l.encoder_attn.v_proj(enc), b, self.heads)) for l in dec.layers]
        self.mask = expand_mask(attn)
        self.past = None

    def reorder(self, idx):
        self.past = [(k.index_select(0, idx), v.index_select(0, idx)) for k, v in self.past]
        self.cross = [(k.index_select(0, idx), v.index_select(0, idx)) for k, v in self.cross]
        self.mask = self.mask.index_select(0, idx)

    def step(self, tok):
        m, dec = self.m, self.m.model.decoder
        b = tok.shape[0]
        pos = 0 if self.past is None else self.past[0][0].shape[2]
        h = dec.embed_tokens(tok) * dec.embed_scale + dec.embed_positions(tok, pos)
        h = dec.layernorm_embedding(h)
        new = []
        for i, l in enumerate(dec.layers):
            sa = l.self_attn
            q = shape(sa.q_proj(h) * sa.scaling, b, self.heads)
            k = shape(sa.k_proj(h), b, self.heads)
            v = shape(sa.v_proj(h), b, self.heads)
            if self.past is not None:
                k = torch.cat([self.past[i][0], k], dim=2)
                v = torch.cat([self.past[i][1], v], dim=2)
            new.append((k, v))
            o = (F.softmax(q @ k.transpose(-1, -2), dim=-1) @ v).transpose(1, 2).reshape(b, 1, -1)
            h = l.self_attn_layer_norm(h + sa.out_proj(o))
            ca = l.encoder_attn
            q = shape(ca.q_proj(h) * ca.scaling, b, self.heads)
            ck, cv = self.cross[i]
            w = F.softmax(q @ ck.transpose(-1, -2) + self.mask, dim=-1)
            o = (w @ cv).transpose(1, 2).reshape(b, 1, -1)
            h = l.encoder_attn_layer_norm(h + ca.out_proj(o))
            h = l.final_layer_norm(h + l.fc2(F.gelu(l.fc1(h))))
        self.past = new
        return (m.lm_head(h) + m.final_logits_bias)[:, -1, :]


def greedy(m, enc, attn, g):
    b = enc.shape[0]
    c = Cached(m, enc, attn)
    ids = torch.full((b, 1), g["decoder_start_token_id"], dtype=torch.long)
    unfinished = torch.ones(b, dtype=torch.long)
    while True:
        scores = process(c.step(ids[:, -1:]), ids, g, g["max_length"])
        nxt = torch.argmax(scores, dim=-1)
        nxt = nxt * unfinished + g["pad_token_id"] * (1 - unfinished)
        ids = torch.cat([ids, nxt[:, None]], dim=-1)
        unfinished = unfinished.mul((nxt != g["eos_token_id"]).long())
        if unfinished.max() == 0 or ids.shape[-1] >= g["max_length"]:
            break
    return [row.tolist() for row in ids]


def beam_search(m, enc, attn, g, k):
    b = enc.shape[0]
    enc = enc.repeat_interleave(k, dim=0)
    attn = attn.repeat_interleave(k, dim=0)
    c = Cached(m, enc, attn)
    ids = torch.full((b * k, 1), g["decoder_start_token_id"], dtype=torch.long)
    hyps = [Hyps(k, g["length_penalty"], g["early_stopping"]) for _ in range(b)]
    done = [False] * b
    beam_scores = torch.zeros((b, k))
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    eos, pad = g["eos_token_id"], g["pad_token_id"]
    while True:
        cur = ids.shape[-1]
        s = F.log_softmax(c.step(ids[:, -1:]), dim=-1)
        s = process(s, ids, g, g["max_length"]) + beam_scores[:, None]
        V = s.shape[-1]
        top, tok = torch.topk(s.view(b, k * V), 2 * k, dim=1, largest=True, sorted=True)
        nidx, ntok = torch.div(tok, V, rounding_mode="floor"), tok % V
        nb_scores = torch.zeros((b, k))
        nb_tok = torch.zeros((b, k), dtype=torch.long)
        nb_idx = torch.zeros((b, k), dtype=torch.long)
        for bi in range(b):
            if done[bi]:
                nb_tok[bi] = pad
                continue
            j = 0
            for rank, (t, sc, ix) in enumerate(zip(ntok[bi].tolist(), top[bi].tolist(), nidx[bi].tolist())):
                bbi = bi * k + ix
                if t == eos:
                    if rank >= k:
                        continue
                    hyps[bi].add(ids[bbi].clone(), sc)
                else:
                    nb_scores[bi, j], nb_tok[bi, j], nb_idx[bi, j] = sc, t, bbi
                    j += 1
                if j == k:
                    break
            done[bi] = done[bi] or hyps[bi].is_done(top[bi].max().item(), cur)
        beam_scores = nb_scores.view(-1)
        ids = torch.cat([ids[nb_idx.view(-1)], nb_tok.view(-1, 1)], dim=-1)
        c.reorder(nb_idx.view(-1))
        if all(done) or ids.shape[-1] >= g["max_length"]:
            break
    out = []
    for bi in range(b):
        if not done[bi]:
            for j in range(k):
                hyps[bi].add(ids[bi * k + j], beam_scores[bi * k + j].item())
        seq = sorted(hyps[bi].beams, key=lambda x: x[0]).pop()[1].tolist()
        if len(seq) < g["max_length"]:
            seq.append(eos)
        out.append(seq)
    return out


def correct(m, rows, g, beams, batch, pad):
    out = [None] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))  # as the Go corrector batches
    for lo in range(0, len(order), batch):
        idx = order[lo:lo + batch]
        part = [rows[i] for i in idx]
        S = max(len(x) for x in part)
        ids = torch.full((len(part), S), pad, dtype=torch.long)
        attn = torch.zeros((len(part), S), dtype=torch.long)
        for i, x in enumerate(part):
            ids[i, :len(x)] = torch.tensor(x)
            attn[i, :len(x)] = 1
        enc = m.model.encoder(ids, attn)
        res = greedy(m, enc, attn, g) if beams == 1 else beam_search(m, enc, attn, g, beams)
        for i, r in zip(idx, res):
            out[i] = r
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--beams", type=int, default=1)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="time only the first N captions")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    inp = json.load(open(os.path.join(a.dir, "bench_inputs.json")))
    c = dict(inp["config"], activation_function="gelu")
    g = dict(c)
    for k in ("forced_bos_token_id", "forced_eos_token_id"):
        if g[k] < 0:
            g[k] = None
    m = BartForConditionalGeneration(c)
    sd = load_safetensors(os.path.join(a.dir, "weights.safetensors"))
    sd["model.encoder.embed_tokens.weight"] = sd["model.decoder.embed_tokens.weight"] = \
        sd["lm_head.weight"] = sd["model.shared.weight"]
    m.load_state_dict(sd)
    del sd
    m.eval()
    rows = inp["input_ids"][:a.limit] if a.limit else inp["input_ids"]
    with torch.no_grad():
        first = correct(m, rows[:4], dict(g), 1, 4, c["pad_token_id"])
        # leading tokens equal to the Go port's greedy output (f16/q8_0
        # activations in ggml make later near-ties go either way)
        same = []
        for x, y in zip(first, inp["greedy_first4"]):
            n = 0
            while n < min(len(x), len(y)) and x[n] == y[n]:
                n += 1
            same.append("%d/%d" % (n, len(y)))
        times = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            correct(m, rows, dict(g), a.beams, a.batch, c["pad_token_id"])
            times.append(time.perf_counter() - t0)
    med = statistics.median(times) if times else float("nan")
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "beams": a.beams, "batch": a.batch,
                      "captions": len(rows), "runs": times, "median_s": med, "captions_per_s": len(rows) / med,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "greedy_first4_leading_tokens_equal_go": same}))


if __name__ == "__main__":
    main()
