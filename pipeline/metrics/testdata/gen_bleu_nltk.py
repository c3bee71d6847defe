#!/usr/bin/python3
"""Writes bleu_nltk.json: NLTK sentence_bleu / corpus_bleu reference values.

Run with Debian's interpreter (python3-nltk 3.8):
    /usr/bin/python3 gen_bleu_nltk.py > bleu_nltk.json
Text is tokenized with str.split(), as metrics.NLTKSentenceBLEU does.
Deterministic: the random cases come from random.Random(4).
"""
import json
import random
import sys
import warnings

import nltk
from nltk.translate.bleu_score import corpus_bleu, sentence_bleu

warnings.simplefilter("ignore")  # method0 warns on zero-count orders

HAND = [
    # (hypothesis, references)
    ("the cat sat on the mat", ["the cat sat on the mat"]),
    ("the cat sat on the mat", ["a cat sat on the mat", "there is a cat on the mat"]),
    ("a b x d", ["a b c d"]),                      # no 3-/4-gram match: tiny, not 0
    ("completely different words", ["nothing in common here"]),  # 0
    ("", ["a reference"]),                         # empty hypothesis: 0
    ("a reference", [""]),                         # empty reference
    ("a reference", ["", "a reference"]),
    ("short", ["a much longer reference sentence"]),
    ("two people walk a dog on the beach at sunset",
     ["two people walking a dog along the beach", "a couple walks their dog at sunset on the beach",
      "people and a dog on a beach", "two persons with a dog on the sand", "a dog and two people at the beach"]),
    ("Ein Hund läuft über die Wiese .", ["Ein Hund rennt über die grüne Wiese ."]),
    ("一只 猫 坐在 垫子 上", ["一只 猫 坐在 垫子 上 面"]),
    ("naïve café résumé — done", ["naïve café résumé done"]),
    ("word\u00a0split\u2003here \x1cand", ["word split here and"]),  # Python whitespace
    ("the the the the the the the", ["the cat is on the mat"]),    # clipping
    ("a a b b c c d d", ["a b c d a b c d"]),
]

VOCAB = "a an the dog cat man woman child street park red blue two three is are on in with near".split()


def rand_sentence(rng, lo, hi):
    return " ".join(rng.choice(VOCAB) for _ in range(rng.randint(lo, hi)))


def main():
    rng = random.Random(4)
    cases = list(HAND)
    for _ in range(60):
        hyp = rand_sentence(rng, 0, 14)
        refs = [rand_sentence(rng, 1, 14) for _ in range(rng.randint(1, 5))]
        cases.append((hyp, refs))
    out = {"nltk": nltk.__version__, "python": sys.version.split()[0],
           "tokenize": "str.split()", "sentence": [], "corpus": None}
    for hyp, refs in cases:
        score = sentence_bleu([r.split() for r in refs], hyp.split())
        out["sentence"].append({"hyp": hyp, "refs": refs, "bleu": float(score)})
    hyps = [h for h, _ in cases]
    refs = [r for _, r in cases]
    out["corpus"] = {"bleu": float(corpus_bleu([[x.split() for x in r] for r in refs], [h.split() for h in hyps]))}
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


main()
