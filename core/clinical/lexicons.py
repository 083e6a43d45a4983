"""Word and phrase lists behind the psycholinguistic indicators (data only; the logic is in indicators.py).

Entries are lower case. A phrase is matched as a run of words ("no way out");
an entry ending in ``*`` matches any word starting with it ("exhaust*").
Apostrophes are straight (curly ones in a note are straightened before
matching), and "cant"/"dont" without an apostrophe are listed where people
write them that way.

Sources:
* absolutist words: the 19-word absolutist dictionary of Al-Mosaiwi & Johnstone
  (2018, Clinical Psychological Science), as published in that paper;
* emotion-word valence: the VADER lexicon (vaderSentiment, MIT licence),
  read from the installed package, not copied here;
* everything else (hopelessness, helplessness, cognitive-distortion markers,
  sleep/appetite/energy/substance/social/alone mentions, the four emotion word
  lists) was written for this project and is tested in tests/test_indicators.py.
  They are short, hand-written lists, not a validated instrument.
"""

from __future__ import annotations

ABSOLUTIST = (
    "absolutely", "all", "always", "complete", "completely", "constant", "constantly", "definitely", "entire",
    "ever", "every", "everyone", "everything", "full", "must", "never", "nothing", "totally", "whole",
)

FIRST_PERSON_SINGULAR = ("i", "me", "my", "mine", "myself", "i'm", "im", "i've", "ive", "i'd", "i'll")
# The other personal pronouns, for the first-person share (LIWC's "ppron" set, without "it").
OTHER_PERSONAL = (
    "we", "us", "our", "ours", "ourselves", "we're", "we've", "we'll", "we'd",
    "you", "your", "yours", "yourself", "yourselves", "you're", "you've", "you'll", "you'd",
    "he", "him", "his", "himself", "he's", "he'd", "he'll",
    "she", "her", "hers", "herself", "she's", "she'd", "she'll",
    "they", "them", "their", "theirs", "themselves", "they're", "they've", "they'll", "they'd",
)
# Cues that a note is written about the patient, not by them (speaker detection).
THIRD_PERSON_CUES = (
    "he", "him", "his", "himself", "he's", "she", "her", "hers", "herself", "she's",
    "patient", "patient's", "pt", "client", "client's", "reports", "reported", "states", "stated", "denies",
    "denied", "endorses", "endorsed", "presents", "presented", "describes", "appears",
)

HOPELESSNESS = (
    "hopeless", "hopelessness", "no hope", "lost hope", "lost all hope", "losing hope", "without hope",
    "no future", "pointless", "no point", "what's the point", "whats the point", "nothing will change",
    "nothing ever changes", "never get better", "never going to get better", "won't get better",
    "wont get better", "nothing to look forward to", "no way out", "give up", "gave up", "giving up",
    "given up", "nothing matters", "can't go on", "cant go on", "despair", "despairing", "it's over",
    "no reason to live", "doomed", "futile", "no light at the end",
)
HELPLESSNESS = (
    "helpless", "helplessness", "powerless", "can't cope", "cant cope", "cannot cope", "unable to cope",
    "can't handle", "cant handle", "cannot handle", "can't do anything", "nothing i can do", "nothing i do",
    "out of control", "no control", "stuck", "trapped", "overwhelmed", "at a loss", "can't manage",
    "don't know what to do", "dont know what to do", "can't fix", "can't change", "no choice",
)

_SELF = ("i'm", "im", "i am", "i feel like", "i feel like a", "i'm such", "i am such", "i'm just", "i am just")
_LABELS_A = ("a failure", "a loser", "an idiot", "a mess", "a burden", "a disappointment", "a fraud", "a joke",
             "failure", "loser", "idiot", "mess", "burden", "disappointment", "fraud")
_LABELS_ADJ = ("useless", "worthless", "stupid", "pathetic", "weak", "disgusting", "broken", "unlovable",
               "a bad person", "a terrible person", "not good enough", "hopeless case")
DISTORTIONS = {
    "should statement": ("should", "shouldn't", "shouldnt", "should've", "ought", "must", "mustn't",
                         "supposed to", "have to be", "need to be"),
    "labelling": tuple(sorted({f"{s} {x}" for s in _SELF for x in _LABELS_A + _LABELS_ADJ}
                              | {"failure", "loser"})),
    "catastrophising": ("worst", "disaster", "disastrous", "catastrophe", "catastrophic", "ruined", "ruin",
                        "end of the world", "unbearable", "can't stand", "cant stand", "what if", "horrible",
                        "nightmare", "falling apart", "fall apart", "never recover", "everything is wrong"),
    "mind reading": ("they think", "everyone thinks", "people think", "he thinks i", "she thinks i",
                     "they must think", "must think i", "everyone hates me", "everybody hates me",
                     "nobody likes me", "no one likes me", "they hate me", "they don't like me",
                     "judging me", "judge me", "look down on me", "laughing at me", "think i'm", "thinks i'm",
                     "they'd be better off", "sick of me"),
}

SLEEP = (
    "sleep*", "slept", "insomnia", "asleep", "awake", "nightmares", "nap", "naps", "napping", "wake up",
    "woke up", "waking up", "oversleep*", "bedtime", "tossing and turning", "up all night", "restless night",
)
APPETITE = (
    "appetite", "eating", "eat", "ate", "eats", "food", "hungry", "hunger", "meal", "meals", "lost weight",
    "gained weight", "weight loss", "weight gain", "binge*", "starving", "overeat*", "snacking", "skipping meals",
    "not eating", "diet",
)
ENERGY = (
    "energy", "tired", "tiredness", "exhaust*", "fatigue*", "drained", "lethargic", "lethargy", "sluggish",
    "worn out", "weary", "no motivation", "unmotivated", "motivation", "can't get out of bed",
    "cant get out of bed", "slowed down", "run down", "burnt out", "burned out", "burnout",
)
SUBSTANCE = (
    "alcohol*", "drink", "drinks", "drinking", "drank", "drunk", "beer*", "wine", "vodka", "whisk*", "liquor",
    "booze", "weed", "cannabis", "marijuana", "cocaine", "heroin", "opioid*", "opiate*", "meth",
    "amphetamine*", "pills", "smoking", "smoke", "cigarette*", "nicotine", "vaping", "vape", "hungover",
    "hangover", "sober", "sobriety", "relapse*", "overdose*", "xanax", "benzo*", "substance*", "getting high",
)
SOCIAL = (
    "friend", "friends", "friendship*", "family", "mom", "mum", "mother", "dad", "father", "parents", "brother",
    "sister", "sibling*", "wife", "husband", "partner", "boyfriend", "girlfriend", "son", "daughter", "kids",
    "children", "colleague*", "coworker*", "co-worker*", "roommate*", "neighbour*", "neighbor*", "grandmother",
    "grandfather", "grandma", "grandpa", "aunt", "uncle", "cousin*", "people",
)
ALONE = (
    "alone", "lonely", "loneliness", "lonesome", "isolated", "isolation", "isolating", "no friends",
    "no one to talk to", "nobody to talk to", "by myself", "on my own", "withdrawn", "withdrawing",
    "left out", "no one cares", "nobody cares", "cut off",
)

# Words that turn what follows in the same clause around ("not hopeless", "don't feel helpless").
NEGATORS = (
    "not", "no", "never", "cannot", "can't", "cant", "don't", "dont", "doesn't", "doesnt", "didn't", "didnt",
    "isn't", "isnt", "aren't", "wasn't", "wasnt", "weren't", "won't", "wont", "wouldn't", "haven't", "hasn't",
    "hadn't", "without", "hardly", "barely", "nor", "neither", "nobody", "none", "nothing",
)
NEGATION_WINDOW = 3  # words looked back, within the clause

# Emotion words for the dominant emotion of a sentence (neutral: none of them). Written for this project.
EMOTIONS = ("sadness", "fear", "anger", "joy", "neutral")
EMOTION_WORDS = {
    "sadness": ("sad", "sadness", "unhappy", "depressed", "depressing", "depression", "down", "low", "miserable",
                "cry", "cried", "crying", "tears", "grief", "grieving", "heartbroken", "lonely", "empty", "numb",
                "hopeless", "worthless", "gloomy", "sorrow", "hurt", "hurting", "loss", "lost", "regret", "blue",
                "devastated", "disappointed", "despair", "awful"),
    "fear": ("afraid", "scared", "fear", "fearful", "frightened", "terrified", "anxious", "anxiety", "worried",
             "worry", "worrying", "nervous", "panic", "panicking", "dread", "uneasy", "tense", "on edge", "nervy",
             "paranoid", "threatened", "unsafe", "phobia", "shaking", "overwhelmed", "stressed", "stress"),
    "anger": ("angry", "anger", "mad", "furious", "rage", "irritated", "irritable", "annoyed", "frustrated",
              "frustration", "resentful", "resent", "hate", "hatred", "pissed", "fuming", "bitter", "outraged",
              "hostile", "snapped", "yelling", "yelled", "shouting", "argue", "arguing", "fight", "fighting"),
    "joy": ("happy", "happiness", "joy", "glad", "pleased", "excited", "enjoy", "enjoyed", "enjoying", "fun",
            "grateful", "thankful", "proud", "relieved", "hopeful", "calm", "content", "love", "loved", "lovely",
            "great", "wonderful", "good", "better", "cheerful", "laugh", "laughed", "laughing", "smile", "smiling"),
}

# VADER lexicon words left out of the emotion-word counts: function words, words whose VADER score reflects a
# sense that is rare in clinical writing ("like" the preposition, "help" the noun, "pretty" the adverb), and
# clinical vocabulary that carries no emotion ("denies suicidal ideation", "tested positive").
EMOTION_WORD_EXCLUDE = frozenset((
    "like", "likes", "liked", "well", "pretty", "please", "yes", "no", "ok", "okay", "help", "helps", "care",
    "sure", "kind", "true", "clear", "fine", "mean", "want", "wants", "wanted", "free", "matter", "share",
    "save", "keep", "interest", "interested", "right", "god", "lol", "haha", "party", "lost", "friend", "friends",
    "deny", "denies", "denied", "denying", "positive", "negative", "supportive", "support", "supports",
))
EMOTION_WORD_MIN_VALENCE = 1.0  # |VADER mean rating| a word needs to count as an emotion word (scale -4..4)

# Common English words: a note where few words are English is reported as not English, not as zeros.
ENGLISH_FUNCTION_WORDS = frozenset((
    "the", "a", "an", "and", "or", "but", "if", "of", "to", "in", "on", "at", "for", "with", "from", "by", "about",
    "as", "into", "over", "after", "before", "is", "am", "are", "was", "were", "be", "been", "being", "have",
    "has", "had", "do", "does", "did", "will", "would", "can", "could", "should", "may", "might", "must", "not",
    "no", "so", "than", "too", "very", "just", "this", "that", "these", "those", "there", "here", "what", "which",
    "who", "when", "where", "why", "how", "all", "any", "some", "more", "most", "other", "it", "its", "it's",
    "i", "me", "my", "you", "your", "he", "she", "we", "they", "them", "his", "her", "our", "their", "up", "out",
    "now", "then", "again", "also", "only", "really", "feel", "feels", "felt", "get", "got", "go", "going",
))
