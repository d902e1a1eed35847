"""Light stemmers for the languages NLTK's Snowball lacks: Czech and Serbian (docs/metrics.md).

Both are *light* stemmers in the sense of Savoy: they strip inflectional endings (case, number,
possessive) and nothing derivational, so "most", "mostu", "mostem" meet while "mostek" stays apart.
Input: one lower-cased word with its diacritics.

- Czech: the light stemmer of Dolamic & Savoy, "Indexing and stemming approaches for the Czech
  language", Information Processing & Management 45(6), 2009 (the algorithm Lucene's CzechStemmer also
  implements): case endings by length classes, then possessive -ov/-in/-ův, then a palatalisation
  normalisation (č/c -> k, ž/z -> h, čt -> ck, št -> sk, a final "e*" vowel dropped, ů -> o).
- Serbian: Cyrillic transliterated to Latin first (so "Београду" and "Beogradu" share a stem), then the
  longest ending of the noun and adjective declensions (the endings of Kešelj & Šipka, "A suffix
  subsumption-based approach to building stemmers and lemmatizers for highly inflectional languages with
  sparse resources", INFOtheca 9(1), 2008, restricted to inflection) removed while at least three letters
  remain.
"""

from __future__ import annotations

# Czech: (minimum word length, endings) in the order the algorithm tries them
_CS_CASE = (
    (8, ("atech",)),
    (7, ("ětem", "etem", "atům")),
    (6, ("ech", "ich", "ích", "ého", "ěmi", "emi", "ému", "ěte", "ete", "ěti", "eti", "ího", "iho", "ími", "ímu",
         "imu", "ách", "ata", "aty", "ých", "ama", "ami", "ové", "ovi", "ými")),
    (5, ("em", "es", "ém", "ím", "ům", "at", "ám", "os", "us", "ým", "mi", "ou")),
    (4, tuple("aeiouůyáéíýě")),
)
_CS_POSSESSIVE = ("ov", "in", "ův")


def czech(word: str) -> str:
    """Dolamic & Savoy's light Czech stem of a lower-cased word."""
    for min_len, endings in _CS_CASE:
        if len(word) >= min_len and word.endswith(endings):
            word = word[: -len(next(e for e in endings if word.endswith(e)))]
            break
    if len(word) > 5 and word.endswith(_CS_POSSESSIVE):
        word = word[:-2]
    if not word:
        return word
    if word.endswith("čt"):
        return word[:-2] + "ck"
    if word.endswith("št"):
        return word[:-2] + "sk"
    if word[-1] in "cč":
        return word[:-1] + "k"
    if word[-1] in "zž":
        return word[:-1] + "h"
    if len(word) > 1 and word[-2] == "e":
        return word[:-2] + word[-1]
    if len(word) > 2 and word[-2] == "ů":
        return word[:-2] + "o" + word[-1]
    return word


# Serbian noun and adjective endings (Latin), longest first when stripping
_SR_ENDINGS = tuple(sorted({
    # nouns: -ovi/-evi plurals and their cases, a/e/i/o/u declensions
    "ovima", "evima", "ovi", "evi", "ova", "eva", "ove", "eve", "ima", "ama", "om", "em", "u", "a", "e", "i", "o",
    # adjectives and pronominal declension
    "ijeg", "ijem", "ijoj", "ijih", "ijim", "ijima", "oga", "ega", "omu", "emu", "ome", "eme", "og", "eg", "oj",
    "ih", "im", "ima", "iji", "ija", "ije", "iju", "ski", "ska", "sko", "ske", "sku", "skog", "skom", "skoj",
    "skih", "skim", "skima",
}, key=len, reverse=True))
_SR_KEEP_SKI = ("ski", "ska", "sko", "ske", "sku", "skog", "skom", "skoj", "skih", "skim", "skima")


def serbian(word: str) -> str:
    """A light Serbian stem of a lower-cased word in either script (returned in Latin)."""
    from mella.scripts import transliterate_sr

    word = transliterate_sr(word)
    for ending in _SR_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            if ending in _SR_KEEP_SKI:  # beogradski ~ beogradska: keep the adjective's -sk-
                return word[: -len(ending)] + "sk"
            return word[: -len(ending)]
    return word
