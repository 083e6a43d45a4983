import pytest

from core.safety.crisis import IDEATION, OTHER_SUICIDE, PLAN, PREPARATORY, SELF_HARM, detect_crisis


@pytest.mark.parametrize("text,category", [
    ("She has been having suicidal thoughts every night.", IDEATION),
    ("I want to kill myself.", IDEATION),
    ("I don't want to live anymore.", IDEATION),
    ("Honestly there is no reason to live.", IDEATION),
    ("He says everyone would be better off dead without him.", IDEATION),
    ("Admits to cutting her wrists last weekend.", SELF_HARM),
    ("Ongoing self-harm by burning.", SELF_HARM),
    ("Has been stockpiling pills and wrote a goodbye note.", PREPARATORY),
    ("Took an overdose in March.", PLAN),
    # misspellings
    ("been having sucidal thoughts", IDEATION),
    ("thinking about an overdoze", PLAN),
    ("suicidial ideation reported", IDEATION),
    ("I wanna kil myself", IDEATION),
    # third person and past tense, as clinicians write them
    ("She wants to die.", IDEATION),
    ("He wishes he were dead.", IDEATION),
    ("Says she would rather be dead than go back.", IDEATION),
    ("Keeps saying he wants to just die.", IDEATION),
    # a negation cue earlier in the sentence that does not reach the phrase
    ("No appetite, says she wants to kill herself.", IDEATION),
    ("Has no friends and has a plan to overdose.", PLAN),
    ("No appetite, poor sleep, suicidal thoughts daily.", IDEATION),
    ("Not eating, wants to die.", IDEATION),
    ("Denies SI and has a plan to jump off the bridge.", PLAN),
    ("Never had therapy before; reports thoughts of dying.", IDEATION),
])
def test_flags_crisis_language(text, category):
    result = detect_crisis(text)
    assert result.flagged, text
    assert category in result.categories


@pytest.mark.parametrize("text", [
    "Denies suicidal ideation or thoughts of self-harm.",
    "Patient is not suicidal.",
    "No thoughts of self-harm; denies any plan or intent.",
    "Negative for suicidal ideation.",
    "No suicdal thoughts.",
    "Denies SI, self-harm, or thoughts of dying.",
    "She does not want to die; she wants her life back.",
    "Patient never wished to be dead.",
    "Negative for suicidal ideation, self-harm or overdose.",
    "Mood improved, successful week at work, sleeping well.",
    "Discussed the plan for next week's exposure homework.",
    "",
])
def test_does_not_flag_negated_or_unrelated_text(text):
    assert not detect_crisis(text).flagged, text


def test_negation_stops_at_clause_boundary():
    result = detect_crisis("Denies SI but cut herself last week.")
    assert result.flagged and result.categories == [SELF_HARM]
    negated = [m for m in result.matches if m.negated]
    assert negated and negated[0].phrase == "SI"


def test_match_offsets_point_into_the_original_text():
    text = "Session 3. Reports SUICIDAL thoughts."
    [m] = detect_crisis(text).active
    assert text[m.start:m.end] == "SUICIDAL"


# ----------------------------------------------------------------------------- normalisation and bad input
from core.safety.crisis import ATTEMPT, normalise  # noqa: E402


@pytest.mark.parametrize("text", [
    "I want to k i l l myself",                 # letter-spaced
    "thinking about s-u-i-c-i-d-e again",       # letter-spaced with hyphens
    "I want to kіll mysеlf",                    # Cyrillic і and е
    "ѕuісіdal thoughts",                        # Cyrillic ѕ, і, с
    "su\u200bici\u200bdal thoughts",            # zero-width spaces
    "I want to k\u200dill my\u00adself",        # zero-width joiner, soft hyphen
    "ｉ ｗａｎｔ ｔｏ ｋｉｌｌ ｍｙｓｅｌｆ",            # full-width letters (NFKC)
    "su1c1dal again tonight",                   # digits for letters
    "I want to dieeeee",                        # repeated letters
    "I k i l l myself every night in my head",  # a leading "I" stays a word of its own
    "I want to kill myself",                    # plain control
])
def test_normalisation_before_matching(text):
    result = detect_crisis(text)
    assert result.flagged, text
    for m in result.active:  # offsets point into the original text, whatever was removed or mapped
        assert text[m.start:m.end] == m.phrase and m.phrase.strip()


def test_normalise_keeps_offsets_into_the_original():
    text = "Ｉ  k i l l\u200b"
    norm, where = normalise(text)
    assert norm == "i kill"
    assert all(0 <= w < len(text) for w in where) and len(where) == len(norm)


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "💀💀💀", "\u200b\u200b", "....", "1234 5678"])
def test_bad_input_never_flags_or_fails(text):
    assert not detect_crisis(text).flagged


def test_a_long_note_is_checked_to_its_last_sentence():
    filler = "The patient discussed work, sleep and her weekend plans with her sister. " * 2500  # ~30,000 words
    result = detect_crisis(filler + "At the end she said she wants to kill herself.")
    assert result.flagged and result.active[-1].start > len(filler)


@pytest.mark.parametrize("text,category", [
    ("i genuinely want to kms", IDEATION),
    ("thinking about ctb this weekend", IDEATION),
    ("might just sewerslide", IDEATION),
    ("ngl i wanna unalive myself", IDEATION),
    ("honestly ready to off myself", IDEATION),
    ("i want to hang myslf", PLAN),
    ("My plan is to take every pill in the cabinet on Friday.", PLAN),
    ("I just want to go to sleep and not wake up.", IDEATION),
    ("Wrote farewell letters to his children last week.", PREPARATORY),
    ("Has been giving away her belongings to friends.", PREPARATORY),
    ("She looked up online how many tablets would be lethal.", PREPARATORY),
    ("He bought a gun on Monday.", PREPARATORY),
    ("Tried to hang herself in 2021.", ATTEMPT),
    ("His friend reports he has a rifle and said he would use it on himself.", PLAN),
    ("Quiero matarme.", IDEATION),
    ("Je pense à me suicider.", IDEATION),
    ("Ich will nicht mehr leben.", IDEATION),
    ("Quero morrer.", IDEATION),
    ("Voglio farla finita.", IDEATION),
    ("Me corto cuando estoy triste.", SELF_HARM),
    ("Pt endorses passive SI.", IDEATION),
])
def test_slang_preparatory_and_other_languages(text, category):
    result = detect_crisis(text)
    assert category in result.categories, (text, result.categories)


@pytest.mark.parametrize("text", [
    "Her maternal uncle died by suicide; patient denies current suicidal ideation.",
    "Family history notable for father's suicide in 2010.",
    "Her brother killed himself in 2019; she thinks about it daily.",
    "Her mother took her own life when she was twelve.",
    "We attended a suicide prevention workshop.",
    "The novel's heroine takes her own life in the last chapter.",
    "SI: denied. HI: denied.",
    "Suicidal ideation - none.",
    "Asked about thoughts of death: \"No, not at all.\"",
    "I'm killing myself laughing at these memes.",
    "I'm going to overdose on chocolate this Easter.",
    "Si tengo tiempo voy al cine.",
    "Je n'ai pas d'idées suicidaires.",
    "I bought a rope for my climbing course.",
    "We made a plan for how to handle the holidays.",
    "I walked 5 kms today.",
])
def test_contrast_negation_and_other_persons_suicide_do_not_flag(text):
    assert not detect_crisis(text).flagged, text


def test_other_persons_suicide_is_a_risk_factor_but_attempts_stay_crisis():
    uncle = detect_crisis("Maternal uncle died by suicide in 2015.")
    assert [m.category for m in uncle.risk_factors] == [OTHER_SUICIDE] and not uncle.flagged
    assert detect_crisis("Her brother almost killed himself last month.").flagged
    assert detect_crisis("He tried to kill himself in May.").flagged


@pytest.mark.parametrize("text", ["I want to overcome my fear of heights.", "The project is overdone and overdue."])
def test_words_near_overdose_are_not_misspellings_of_it(text):
    assert not detect_crisis(text).flagged


def test_od_abbreviation_is_not_the_word_odd():
    assert detect_crisis("She OD'd on her pills last year.").flagged
    assert not detect_crisis("My mom found it odd. Odd number of children.").flagged


# Phrasings built from the rule families (subject, verb family, tense, object), written for these tests and kept
# apart from both evaluation files.
@pytest.mark.parametrize("text,category", [
    ("He hopes a truck runs him over.", IDEATION),
    ("I wouldn't even mind if I died in my sleep tonight.", IDEATION),
    ("She says she can't see herself making it past her birthday.", IDEATION),
    ("I wake up angry that I'm still breathing.", IDEATION),
    ("Why should I keep living like this.", IDEATION),
    ("The only reason I'm still here is my dog.", IDEATION),
    ("I'm thinking about walking into the sea.", PLAN),
    ("If I could get hold of enough insulin I would do it.", PLAN),
    ("I'll go through with it on Sunday.", PLAN),
    ("I've been hiding razor blades in my sock drawer.", PREPARATORY),
    ("He has been setting aside some of his painkillers.", PREPARATORY),
    ("I wrote letters to my parents to open after I'm gone.", PREPARATORY),
    ("Sold my camera and my bike, I won't be needing them.", PREPARATORY),
    ("He got as far as the railing before the police arrived.", ATTEMPT),
    ("She woke up in intensive care after she swallowed her mother's tablets.", ATTEMPT),
    ("I bang my head against the wall when I'm overwhelmed.", SELF_HARM),
    ("Multiple superficial lacerations on the left forearm.", SELF_HARM),
    ("Ella dice que se quiere matar.", IDEATION),
    ("Il veut se tuer.", IDEATION),
    ("Er will sich umbringen.", IDEATION),
    ("Ele quer se matar.", IDEATION),
    ("Lui vuole uccidersi.", IDEATION),
    ("Sie hat sich wieder geritzt.", SELF_HARM),
    ("Je me suis coupée hier soir.", SELF_HARM),
])
def test_rule_families_cover_person_tense_and_language(text, category):
    result = detect_crisis(text)
    assert category in result.categories, (text, result.categories)


@pytest.mark.parametrize("text", [
    "He'd rather die than work there.",
    "I'm tired of living with my parents.",
    "I said goodbye to everyone at the airport and boarded.",
    "The singer died of an accidental overdose.",
    "She volunteers for a self-harm charity.",
    "I'm going to end it with him, it's over.",
    "Killing myself is not something I would ever do.",
    "I nearly died of embarrassment.",
    "Je vais sauter du lit à six heures.",
    "Better to end it now than keep arguing every weekend.",
    "I burned my arm on the oven door.",
])
def test_rule_families_leave_idioms_and_everyday_wording_alone(text):
    assert not detect_crisis(text).flagged, (text, detect_crisis(text).active)


@pytest.mark.parametrize("text, phrase", [
    ("Ever since Dad died I just want to go and be with him.", "want to go and be with him"),
    ("She told me she's ready to join her late husband.", "ready to join her late husband"),
    ("Her uncle died by suicide last year, and she says she thinks about joining him.", "thinks about joining him"),
    ("Since my wife passed away I keep thinking I should follow her.", "should follow her"),
])
def test_a_wish_to_join_someone_who_died_is_a_wish_to_be_dead(text, phrase):
    result = detect_crisis(text)
    assert result.flagged and [m.phrase for m in result.active] == [phrase]
    assert result.active[0].category == IDEATION


@pytest.mark.parametrize("text", [
    "I joined my brother's running club after he moved away.",
    "My friend's dad died and I want to be with her this weekend.",
    "My phone died so I want to be with them at the party.",
    "We lost the match and I want to be with him next season.",
    "She misses her late husband and wants to be with her children.",
    "After the funeral I just wanted to be with them, my sisters and me.",
    "I don't want to join him, I want to live.",
])
def test_being_with_the_living_or_a_dead_battery_is_not_a_wish_to_be_dead(text):
    assert not detect_crisis(text).flagged, [m.phrase for m in detect_crisis(text).active]
