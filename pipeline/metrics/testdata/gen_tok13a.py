#!/usr/bin/python3
"""Writes tok13a.json: 13a tokenizations of tricky strings.

This is NOT sacrebleu (which is not installable here). It is an independent
transcription of the mteval-v13a rules that sacrebleu's default tokenizer
applies, run through Python's own `re` engine, so that the byte scanner in
tokenize.go is pinned to re.sub semantics (non-overlapping, left-to-right
matches) on digits, periods, commas, dashes, entities and non-ASCII text.
sacrebleu's published expected scores are checked separately in
bleu_test.go.

    /usr/bin/python3 gen_tok13a.py > tok13a.json
Deterministic: random strings come from random.Random(13).
"""
import json
import random
import re
import sys

# Symbols split off everywhere: {|}~ [\]^_` space!"#$%& ()*+ :;<=>?@ /
SYMBOLS = re.compile(r"([{-~\[-` -&(-+:-@/])")
PERIOD_AFTER_NONDIGIT = re.compile(r"([^0-9])([.,])")
PERIOD_BEFORE_NONDIGIT = re.compile(r"([.,])([^0-9])")
DASH_AFTER_DIGIT = re.compile(r"([0-9])(-)")


def tok13a(s):
    s = s.rstrip()
    for old, new in (("<skipped>", ""), ("-\n", ""), ("\n", " "),
                     ("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
        s = s.replace(old, new)
    s = " " + s + " "
    s = SYMBOLS.sub(r" \1 ", s)
    s = PERIOD_AFTER_NONDIGIT.sub(r"\1 \2 ", s)
    s = PERIOD_BEFORE_NONDIGIT.sub(r" \1 \2", s)
    s = DASH_AFTER_DIGIT.sub(r"\1 \2 ", s)
    return " ".join(s.split())


HAND = [
    "The dog bit the man.",
    "It wasn't surprising.",
    "Hello, world! (1,000.50 dollars) -- 3-4 e.g. U.S.A. ...",
    "a..b,,c 1.2.3 4,5,6 7-8-9 x-y 10-",
    "&quot;quoted&quot; &amp;amp; &lt;tag&gt; <skipped> end",
    "line-\nbreak and\nnewline",
    "producţia de zahăr brut se exprimă în zahăr alb;",
    "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;",
    "ünïcödé.. 東京.大阪,名古屋 €5.00 ½-3",
    "tabs\tand\u00a0nbsp\u2003em\x1cfs   trailing   \t",
    "",
    "   ",
    "3.",
    ".5",
    "a.",
    "...",
]

ALPHABET = list("ab09.,-'/&;<>\"() é東\u00a0\t") + ["&amp;", "&quot;", "<skipped>", "-\n", "\n"]


def main():
    rng = random.Random(13)
    cases = list(HAND)
    for _ in range(300):
        cases.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 20))))
    out = {"python": sys.version.split()[0], "cases": [{"in": c, "out": tok13a(c)} for c in cases]}
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


main()
