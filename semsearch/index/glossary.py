"""Acronyms spelled out from the notes themselves: `VAE` is embedded as `VAE (variational
autoencoder)` when the notes define it somewhere, so a passage that only says "Variational
autoencoder" is found by meaning.

At build time every acronym-like token (`VAE`, `GANs`, `ReLU`: two or more capitals) is looked up
where it stands next to a definition: `deep belief networks (DBN)`, `DBN - deep belief networks`,
`ELU: Exponential Linear Unit`, or a URL slug `variational-autoencoder-vae`. A definition is the
run of words just before or after the acronym, across one of `( [ - : =`, whose words begin with
the acronym's letters in order (a word may take more than one letter: `autoencoder` gives `A` and
`E`; `of`, `the` and the like may sit in between). The most frequent definition wins; an acronym
with two different definitions of similar frequency (`GBM`) is left alone. The glossary is stored
with the build (`glossary.json`). A query may type an acronym of
3+ letters in lowercase where the notes mostly capitalize it: `vae` counts, `use` and `has` (which
the notes mostly write as words) do not.

Only the query's *embedding* uses the expansion: added to BM25, a long form's common words
(`protein`, `cell`) outweighed the acronym itself on SciFact training claims (docs/quality.md).
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

# changes with every change to what is mined: part of the BEIR build cache key (evaluation/beir.py)
GLOSSARY_VERSION = "2"
MAX_EXTRA_WORDS = 2  # a definition has at most len(acronym) + this many words
COMPOUND_PART = 4  # a word gives a further letter only this far in (auto|encoder), not `anything`'s t
MIN_LOWERCASE = 3  # shorter acronyms are read only as written in capitals
RIVAL_SHARE = 0.5  # a second definition this common (relative to the first) makes an acronym ambiguous
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# a word with 2+ capitals that starts with one (VAE, ReLU, GANs), 2-10 characters
_ACRONYM = re.compile(r"[A-Z](?=[A-Za-z0-9]*[A-Z])[A-Za-z0-9]{1,9}")
_SEPARATOR = re.compile(r"\s*\\?[(\[]\s*|\s*[-\u2013\u2014:=]\s*")
_WORD_GAP = re.compile(r"\s+|\s*-\s*")  # between the words of a definition: spaces or a hyphen
_CLAUSE_END = re.compile(r"\s*(?:[^\w\s]|$)")  # after a definition that follows its acronym
_SLUG_GAP = re.compile(r"[-_]")
_FILLERS = frozenset({"a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "the", "to", "via", "with"})


def acronym_key(token: str) -> str | None:
    """The glossary key of an acronym-like token (`GANs` -> `gan`), or None for other words."""
    if not _ACRONYM.fullmatch(token):
        return None
    if token.endswith("s") and sum(c.isupper() for c in token[:-1]) >= 2:
        token = token[:-1]
    return token.lower()


def spells(letters: str, words: Sequence[str]) -> bool:
    """True if `words` spell `letters`: each word (fillers aside) starts with the next letter and
    may take further letters from inside it, in order, and every letter is used."""

    def fits(i: int, j: int) -> bool:
        if j == len(words):
            return i == len(letters)
        word = words[j]
        if word in _FILLERS:
            if j in (0, len(words) - 1):
                return False
            if fits(i, j + 1):
                return True
        if i >= len(letters) or word[0] != letters[i]:
            return False
        i, position = i + 1, COMPOUND_PART
        while True:
            if fits(i, j + 1):
                return True
            if i == len(letters) or (position := word.find(letters[i], position) + 1) == 0:
                return False
            i += 1

    return fits(0, 0)


def _definitions(letters: str, text: str, spans: Sequence[tuple[int, int, str]], words: Sequence[str],
                 at: int) -> Iterable[str]:
    """Definitions of the acronym at word `at` of `text`, adjacent and complete: the words just
    before it (`deep belief networks (DBN)`), or the words just after it up to the end of the
    clause (`DBN - deep belief networks, ...`), across one separator, with only spaces or hyphens
    between the definition's words (`urn:ietf:...` is not a definition). `words` are the spans'
    words."""
    longest = len(letters) + MAX_EXTRA_WORDS

    def joined(first: int, last: int) -> bool:  # words first..last-1 are one run of words
        return all(_WORD_GAP.fullmatch(text[spans[k][1]:spans[k + 1][0]]) for k in range(first, last - 1))

    if at > 0 and _SEPARATOR.fullmatch(text[spans[at - 1][1]:spans[at][0]]):
        for start in range(max(0, at - longest), at - 1):
            if spells(letters, words[start:at]) and joined(start, at):
                yield " ".join(words[start:at])
    if at + 1 < len(words) and _SEPARATOR.fullmatch(text[spans[at][1]:spans[at + 1][0]]):
        for end in range(at + 3, min(len(words), at + 1 + longest) + 1):
            after = text[spans[end - 1][1]:spans[end][0] if end < len(spans) else len(text)]
            if spells(letters, words[at + 1:end]) and joined(at + 1, end) and _CLAUSE_END.match(after):
                yield " ".join(words[at + 1:end])


def _best(found: Counter[str]) -> str | None:
    """The definition to use, or None when two different ones are about as common. Plural and
    singular count as one; of a definition and its extension (`convolutional neural` and
    `convolutional neural networks`), the longer one is kept when it is at least half as common."""
    merged: Counter[str] = Counter()
    for form, count in found.items():
        merged[form[:-1] if form.endswith("s") and form[:-1] in found else form] += count
    ranked = sorted(merged, key=lambda form: (-merged[form], -len(form), form))
    best = ranked[0]
    for form in ranked[1:]:
        if form.startswith(best + " ") and merged[form] * 2 >= merged[best]:
            best = form
    rivals = [f for f in ranked if not (f.startswith(best) or best.startswith(f))]
    if rivals and merged[rivals[0]] >= RIVAL_SHARE * merged[best]:
        return None
    return best


def _acronym_in(token: str, capitalized: Collection[str]) -> str | None:
    """The acronym key `token` stands for: an acronym as written (`VAE`, `GANs`), or one written in
    lowercase (`vae`, `vaes`, as in a URL slug or a typed query) that the notes mostly capitalize."""
    key = acronym_key(token)
    if key is None and token.islower():
        singular = token[:-1] if token.endswith("s") and token[:-1] in capitalized else token
        key = singular if singular in capitalized else None
    return key


@dataclass(frozen=True, slots=True)
class Glossary:
    """Acronym key -> definition, and the keys the notes mostly capitalize (so `vae` typed in a
    query is the acronym, while `use` is a word)."""

    definitions: dict[str, str] = field(default_factory=dict)
    capitalized: frozenset[str] = frozenset()

    def to_json(self) -> bytes:
        return json.dumps({"definitions": self.definitions,
                           "capitalized": sorted(self.capitalized)},
                          ensure_ascii=False, sort_keys=True).encode()


@dataclass(slots=True)
class GlossaryCounts:
    """What the glossary is mined from, as counts that add up over texts (so a sync adds its new
    passages' counts and subtracts its deleted ones' instead of mining every passage again):
    acronym uses, capitalized uses, lowercase words, and definitions seen next to each acronym and
    next to each lowercase word of a URL slug (counted under each key it could stand for; which one
    it does depends on the counts of every text, decided in `glossary`)."""

    cased: Counter[str] = field(default_factory=Counter)
    upper: Counter[str] = field(default_factory=Counter)  # of them, written in capitals only (`PIP`)
    lower: Counter[str] = field(default_factory=Counter)  # every all-lowercase word
    found: dict[str, Counter[str]] = field(default_factory=dict)  # acronym key -> definitions
    slug: dict[str, Counter[str]] = field(default_factory=dict)  # "word key" -> definitions

    @classmethod
    def of(cls, texts: Iterable[str]) -> GlossaryCounts:
        counts = cls()
        counts.add(texts)
        return counts

    def add(self, texts: Iterable[str], sign: int = 1) -> None:
        """Count `texts` in (`sign` -1: out again, for passages a sync deletes)."""
        for text in texts:
            self._count(text, sign)
        if sign < 0:
            for counter in (self.cased, self.upper, self.lower):
                _drop_empty(counter)
            for table in (self.found, self.slug):
                for key in [k for k, forms in table.items() if not _drop_empty(forms)]:
                    del table[key]

    def _count(self, text: str, sign: int) -> None:
        spans = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        lowered: list[tuple[int, int, str]] | None = None
        words: list[str] = []
        for at, (_, _, token) in enumerate(spans):
            key = acronym_key(token)
            if key is not None:
                self.cased[key] += sign
                if token.rstrip("s").isupper():
                    self.upper[key] += sign
                candidates = [(key, key)]
            elif token.islower():
                self.lower[token] += sign
                # a lowercase acronym is read only in a slug (`variational-autoencoder-vae`)
                if not (at > 0 and _SLUG_GAP.fullmatch(text[spans[at - 1][1]:spans[at][0]])):
                    continue
                candidates = [(token, f"{token} {token}")]
                if token.endswith("s"):
                    candidates.append((token[:-1], f"{token} {token[:-1]}"))
            else:
                continue
            if lowered is None:
                lowered = [(start, end, word.lower()) for start, end, word in spans]
                words = [word for _, _, word in lowered]
            for letters, name in candidates:
                table = self.found if name == letters else self.slug
                forms = [d for d in _definitions(letters, text, lowered, words, at) if letters not in d.split()]
                if forms:
                    counted = table.setdefault(name, Counter())
                    for form in forms:
                        counted[form] += sign

    def glossary(self) -> Glossary:
        """The glossary of every acronym the counted texts define (see the module docstring)."""
        # a lowercase use (a URL slug) counts where the capitalized form is the usual one (not `in`, nor
        # `ha` with `has`), for acronyms of 3+ letters (not `la`)
        lowercase_too = {key for key, n in self.cased.items()
                         if n > 0 and len(key) >= MIN_LOWERCASE and self.lower[key] + self.lower[key + "s"] <= n
                         and self.upper[key] * 2 > n}
        found: dict[str, Counter[str]] = defaultdict(Counter)
        for key, forms in self.found.items():
            found[key].update(forms)
        for name, forms in self.slug.items():
            token, key = name.split(" ")
            singular = token[:-1] if token.endswith("s") and token[:-1] in lowercase_too else token
            if key == singular and key in lowercase_too:
                found[key].update(forms)
        definitions = {key: best for key, forms in sorted(found.items())
                       if +forms and (best := _best(+forms))}
        logger.debug("glossary: %d of %d acronyms defined", len(definitions), len(self.cased))
        return Glossary(definitions, frozenset(key for key in definitions if key in lowercase_too))

    def to_json(self) -> bytes:
        return json.dumps({"cased": self.cased, "upper": self.upper, "lower": self.lower, "found": self.found,
                           "slug": self.slug}, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> GlossaryCounts:
        """Counts stored with a build (ValueError, KeyError or TypeError when they are not)."""
        data = json.loads(raw)

        def counter(value: object) -> Counter[str]:
            if not isinstance(value, dict) or not all(isinstance(v, int) for v in value.values()):
                raise TypeError("counts of the wrong kind")
            return Counter({str(k): int(v) for k, v in value.items()})

        return cls(counter(data["cased"]), counter(data["upper"]), counter(data["lower"]),
                   {str(k): counter(v) for k, v in data["found"].items()},
                   {str(k): counter(v) for k, v in data["slug"].items()})


def _drop_empty(counter: Counter[str]) -> bool:
    """Remove the counts that fell to zero; True when any is left."""
    for key in [k for k, n in counter.items() if n <= 0]:
        del counter[key]
    return bool(counter)


def mine_glossary(texts: Iterable[str]) -> Glossary:
    """The glossary of every acronym `texts` define (see the module docstring)."""
    return GlossaryCounts.of(texts).glossary()


def read_glossary(raw: bytes) -> Glossary:
    """The glossary stored in a build's `glossary.json` (ValueError, KeyError or TypeError when it is
    not one)."""
    data = json.loads(raw)
    definitions, capitalized = data["definitions"], data["capitalized"]
    if not isinstance(definitions, dict) or not isinstance(capitalized, list):
        raise TypeError("wrong types")
    return Glossary({str(k): str(v) for k, v in definitions.items()}, frozenset(map(str, capitalized)))


def spell_out(query: str, glossary: Glossary) -> str:
    """`query` with each acronym the glossary defines followed by its definition in parentheses,
    unless the query already spells it out or defines it itself (`... (GBM)`)."""
    if not glossary.definitions:
        return query
    lowered = " ".join(word.lower() for word in _WORD.findall(query))
    pieces: list[str] = []
    last = 0
    for match in _WORD.finditer(query):
        key = _acronym_in(match.group(), glossary.capitalized)
        definition = glossary.definitions.get(key) if key else None
        before, after = query[:match.start()], query[match.end():]
        if (definition is None or f" {definition} " in f" {lowered} " or before.rstrip().endswith("(")
                or after.lstrip().startswith("(")):
            continue
        pieces += [query[last:match.end()], f" ({definition})"]
        last = match.end()
    return "".join(pieces) + query[last:] if pieces else query
