#!/usr/bin/env python3
"""Writes tests/data/tokenizers/toy/goldens.json: small tokenizer.json files
covering every normalizer, pre-tokenizer, BPE option, added-token option,
post-processor and decoder that Tern supports, with the ids and decodes that
HF tokenizers computes for a list of texts. toy_golden_test.cc checks Tern
against them; the fuzz tests mutate them.

Usage: python3 tests/tokenizer/make_toy_goldens.py OUT.json
(needs the `tokenizers` package; without it, --specs-only writes the
tokenizer.json files with no expected outputs).
"""
import json
import sys

QWEN_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
              r"|\s*[\r\n]+|\s+(?!\S)|\s+")

TEXTS = [
    "", " ", "  ", "a", "Hello world", "hello  world", " leading", "trailing ", "\tTabs\tand\nlines\r\n",
    "The THE the tHe", "don't stop we'll see", "x = 42; y=3.14", "1234567", "a1b22c333",
    "Hello, world! (yes) [no] {maybe}?", "naïve café", "e\u0301 vs \u00e9", "\u212b \u00c5 A\u030a",
    "ﬁ ligature ① ½", "Straße İstanbul ΣΑΣ", "中文测试", "emoji 😀 👍🏽", "\u00a0nbsp\u3000ideo",
    "<s>special</s>", "<mask> masked <mask>", "[SEP]x[SEP]", " <pad> padded", "wordtoken word token",
    "the theatre other", "ab\u200bcd", "a--b__c", "12,345.67", "UPPER lower Mixed",
    "   many   spaces   ", "tab\t\ttab", "end.", "?!", "quote\"s 'single'",
]


def char_vocab(extra_tokens, prefix=None, suffix=None, byte_fallback=False):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}

    def add(token):
        if token not in vocab:
            vocab[token] = len(vocab)

    if byte_fallback:
        for b in range(256):
            add(f"<0x{b:02X}>")
    chars = [chr(c) for c in range(32, 127)] + ["\u2581", "é", "ï", "à", "中", "文", "Σ", "α"]
    for c in chars:
        add(c)
        if prefix:
            add(prefix + c)
        if suffix:
            add(c + suffix)
    for token in extra_tokens:
        add(token)
    return vocab


def with_merges(vocab, merges, prefix=""):
    out = []
    for a, b in merges:
        merged = a + (b[len(prefix):] if prefix and b.startswith(prefix) else b)
        for t in (a, b, merged):
            if t not in vocab:
                vocab[t] = len(vocab)
        out.append([a, b])
    return out


def byte_level_vocab(merges):
    # The 256 byte-level characters, then merge results.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    vocab = {}
    for c in cs:
        vocab[chr(c)] = len(vocab)
    return vocab, with_merges(vocab, merges)


def bpe(vocab, merges, **options):
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
             "ignore_merges": False, "vocab": vocab, "merges": merges}
    model.update(options)
    return model


def added(content, id_, special=True, **options):
    token = {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": not special, "special": special}
    token.update(options)
    return token


def tokenizer(model, normalizer=None, pre_tokenizer=None, post_processor=None, decoder=None,
              added_tokens=()):
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": list(added_tokens),
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer,
            "post_processor": post_processor, "decoder": decoder, "model": model}


WORD_MERGES = [["t", "h"], ["th", "e"], ["\u2581", "t"], ["\u2581t", "he"], ["e", "r"], ["o", "r"],
               ["w", "or"], ["wor", "d"], ["i", "n"], ["l", "l"], ["he", "ll"], ["hell", "o"],
               ["1", "2"], ["12", "3"], ["\u2581", "a"], ["a", "b"], ["c", "d"]]
BYTE_MERGES = [["\u0120", "t"], ["h", "e"], ["\u0120t", "he"], ["i", "n"], ["e", "r"], ["\u0120", "w"],
               ["o", "r"], ["\u0120w", "or"], ["l", "d"], ["\u0120wor", "ld"], ["1", "2"],
               ["\u0120\u0120", "\u0120\u0120"], ["\u0120", "\u0120"], ["\u010a", "\u010a"]]


def specs():
    out = {}
    # Byte-level BPE, Qwen-like: NFC + regex split + ByteLevel, ByteLevel decoding.
    vocab, merges = byte_level_vocab(BYTE_MERGES)
    out["byte_level_regex"] = tokenizer(
        bpe(vocab, merges), normalizer={"type": "NFC"},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        post_processor={"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                        "use_regex": False},
        decoder={"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        added_tokens=[added("<s>", len(vocab)), added("</s>", len(vocab) + 1)])
    # GPT-2 style: ByteLevel with its own regex and a prefix space, ignore_merges.
    vocab, merges = byte_level_vocab(BYTE_MERGES)
    vocab["\u0120hello"] = len(vocab)
    out["byte_level_gpt2"] = tokenizer(
        bpe(vocab, merges, ignore_merges=True),
        pre_tokenizer={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        post_processor={"type": "TemplateProcessing",
                        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                   {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                        "special_tokens": {"<s>": {"id": "<s>", "ids": [len(vocab)], "tokens": ["<s>"]},
                                           "</s>": {"id": "</s>", "ids": [len(vocab) + 1], "tokens": ["</s>"]}}},
        decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        added_tokens=[added("<s>", len(vocab)), added("</s>", len(vocab) + 1)])
    # SentencePiece-style (Llama 2): Prepend + Replace, byte fallback, fuse_unk.
    vocab = char_vocab([], byte_fallback=True)
    merges = with_merges(vocab, WORD_MERGES)
    out["sentencepiece_byte_fallback"] = tokenizer(
        bpe(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True),
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        post_processor={"type": "TemplateProcessing",
                        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        decoder={"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        added_tokens=[added("<unk>", 0), added("<s>", 1), added("</s>", 2)])
    # Unknown characters without byte fallback, unfused.
    vocab = char_vocab([])
    merges = with_merges(vocab, WORD_MERGES)
    out["unk_not_fused"] = tokenizer(
        bpe(vocab, merges, unk_token="<unk>", fuse_unk=False),
        pre_tokenizer={"type": "WhitespaceSplit"},
        decoder={"type": "Fuse"})
    # Metaspace pre-tokenizer and decoder, each prepend scheme.
    for scheme in ("always", "first", "never"):
        vocab = char_vocab([])
        merges = with_merges(vocab, WORD_MERGES)
        out[f"metaspace_{scheme}"] = tokenizer(
            bpe(vocab, merges, unk_token="<unk>"),
            pre_tokenizer={"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": scheme,
                           "split": scheme != "never"},
            decoder={"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": scheme,
                     "split": scheme != "never"},
            added_tokens=[added("<mask>", 1, lstrip=True, rstrip=True), added("</s>", 2)])
    # Unicode normalizers.
    for form in ("NFD", "NFKC", "NFKD"):
        vocab = char_vocab(["\u0301", "\u030a", "\u0301e"])
        merges = with_merges(vocab, WORD_MERGES)
        out[f"normalizer_{form.lower()}"] = tokenizer(
            bpe(vocab, merges, unk_token="<unk>", fuse_unk=True),
            normalizer={"type": form}, pre_tokenizer={"type": "Whitespace"}, decoder={"type": "Fuse"})
    # Lowercase, StripAccents, Strip, Replace with a regex, in a Sequence;
    # normalized and non-normalized added tokens.
    vocab = char_vocab([])
    merges = with_merges(vocab, WORD_MERGES)
    out["normalizer_sequence"] = tokenizer(
        bpe(vocab, merges, unk_token="<unk>", fuse_unk=True),
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": "[0-9]+"}, "content": "#"}]},
        pre_tokenizer={"type": "BertPreTokenizer"},
        post_processor={"type": "BertProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1]},
        decoder={"type": "BPEDecoder", "suffix": "</w>"},
        added_tokens=[added("<s>", 1), added("</s>", 2), added("WORDTOKEN", len(vocab), special=False, normalized=True),
                      added("[SEP]", len(vocab) + 1, special=True, normalized=False, single_word=True)])
    out["strip_left_only"] = tokenizer(
        bpe(char_vocab([]), [], unk_token="<unk>"),
        normalizer={"type": "Strip", "strip_left": True, "strip_right": False},
        pre_tokenizer={"type": "CharDelimiterSplit", "delimiter": "o"}, decoder={"type": "Fuse"})
    # Split with a literal pattern, each behavior, inverted or not.
    for behavior in ("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"):
        for invert in (False, True):
            vocab = char_vocab([])
            merges = with_merges(vocab, WORD_MERGES)
            out[f"split_{behavior.lower()}{'_inverted' if invert else ''}"] = tokenizer(
                bpe(vocab, merges, unk_token="<unk>", fuse_unk=True),
                pre_tokenizer={"type": "Split", "pattern": {"String": " "}, "behavior": behavior,
                               "invert": invert},
                decoder={"type": "Fuse"})
    # Digits and Punctuation, with a subword prefix and word suffix.
    vocab = char_vocab([], prefix="##")
    merges = with_merges(vocab, [["t", "##h"], ["th", "##e"], ["1", "##2"]], prefix="##")
    out["digits_punctuation_prefix"] = tokenizer(
        bpe(vocab, merges, unk_token="<unk>", continuing_subword_prefix="##"),
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Digits", "individual_digits": False},
            {"type": "Punctuation", "behavior": "Isolated"}]},
        post_processor={"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1],
                        "trim_offsets": True, "add_prefix_space": False},
        decoder={"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "##"}, "content": ""}, {"type": "Fuse"}]})
    vocab = char_vocab([], suffix="</w>")
    merges = with_merges(vocab, [["t", "h"], ["th", "e</w>"], ["1", "2"]])
    out["digits_individual_suffix"] = tokenizer(
        bpe(vocab, merges, unk_token="<unk>", end_of_word_suffix="</w>"),
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Whitespace"}, {"type": "Digits", "individual_digits": True},
            {"type": "Punctuation", "behavior": "MergedWithNext"}]},
        decoder={"type": "BPEDecoder", "suffix": "</w>"})
    # A ByteLevel normalizer with Strip decoding at both ends.
    vocab, merges = byte_level_vocab(BYTE_MERGES)
    out["byte_level_normalizer"] = tokenizer(
        bpe(vocab, merges), normalizer={"type": "ByteLevel"},
        pre_tokenizer={"type": "Split", "pattern": {"Regex": "\u0120"}, "behavior": "MergedWithNext", "invert": False},
        post_processor={"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        decoder={"type": "Sequence", "decoders": [
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            {"type": "Strip", "content": " ", "start": 2, "stop": 1}]},
        added_tokens=[added(" <pad>", len(vocab), lstrip=False, rstrip=True)])
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    specs_only = "--specs-only" in sys.argv
    cases = []
    for name, spec in specs().items():
        case = {"name": name, "tokenizer": spec}
        if not specs_only:
            from tokenizers import Tokenizer
            tok = Tokenizer.from_str(json.dumps(spec))
            results = []
            for text in TEXTS:
                ids = tok.encode(text, add_special_tokens=False).ids
                with_special = tok.encode(text, add_special_tokens=True).ids
                results.append({"text": text, "ids": ids, "ids_with_special": with_special,
                                "decoded": tok.decode(ids, skip_special_tokens=False),
                                "decoded_with_special": tok.decode(with_special, skip_special_tokens=False),
                                "decoded_skip_special": tok.decode(with_special, skip_special_tokens=True)})
            case["results"] = results
        cases.append(case)
    reference = "specs only" if specs_only else f"HF tokenizers {__import__('tokenizers').__version__}"
    with open(sys.argv[1], "w") as f:
        json.dump({"reference": reference, "cases": cases}, f, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(cases)} toy tokenizers to {sys.argv[1]}")


if __name__ == "__main__":
    main()
