"""The lexicon `extract` reads a statement with: the verbs of an instruction, the lead-ins
and fillers it peels off, persistence markers ("from now on", "whenever possible"), the
shapes that make a sentence not a standing preference (questions, hypotheticals, reported
speech), and where a compound statement breaks into clauses. Data, not logic: extract.py
holds what is done with it."""

from __future__ import annotations

from personal.prefs.literals import ANSWERS, ANSWERS_NP, EVERYTHING, YOU_SEND
from personal.prefs.text import rx

VERBS = set(
    ["use", "answer", "reply", "respond", "write", "include", "add", "start", "begin", "end", "finish", "sign", "give", "show", "tell", "explain", "cite", "mention", "call", "address", "speak", "talk", "keep", "format", "put", "list", "provide", "ask", "kick", "check", "double-check", "offer", "suggest", "say", "apologize", "apologise", "refer", "translate", "spell", "number", "quote", "assume", "recommend", "greet", "summarize", "summarise", "confirm", "wrap", "highlight", "link", "round", "convert", "respect", "remind", "structure", "lead", "open", "close", "avoid", "be", "prefer", "stay", "stick"]
)
BARE_DONT = rx(r"(?:use|call|apologi[sz]e|answer|reply|respond|sign|end|start|begin|add|"
               r"include|say|write|put|mention)\b")  # fmt: skip
# a call on the phone, not a name: "don't call me after nine", "never call me at work"
PHONE_CALL = rx(r"^call(?:ing)? me (?:after|before|at|on|in|during|until|till|when|while|if|"
                r"tonight|today|tomorrow|later|again|back|early|late|every|this|next|anymore|"
                r"so|that often|\d)")  # fmt: skip
DEICTIC = rx(r"\b(?:this|that|these|those|it|them|here|now|yet|today|above|below)\b")
FILLER = rx(r"^(?:just so you know|for the record|fyi|do me a (?:favou?r|kindness)(?: and)?|"
            r"humou?r me(?: and)?|ok(?:ay)?|also|"
            r"and|but|oh|btw|by the way|"
            r"hey|hi|hello|so|well|actually|"
            r"(?:one |a )?(?:more|last|other|quick|small) thing|one thing|"
            r"just|now|alright|right|great|thanks|thank you|cool|anyway|ugh|"
            r"fine|sure|yes|yeah|no(?=\s*,)|please note)\b[\s,.!:;—–-]*")  # fmt: skip
# not "What I do for a living is …" (a statement), nor "Do use bullet points" (an emphatic order)
QUESTION = rx(r"^(?:what(?! (?:i|we)\b)|why|how|who|whom|whose|where|when(?= (?:is|are|was|were|"
              r"do|does|did|will|would|can|could|should|shall|might|may|am)\b)|which|"
              rf"do(?!\s+(?:not|{'|'.join(sorted(VERBS))})\b)|does|did|is|"
              r"are|was|were|am|have|has|had|shall|should|may|might|can|could|would|will|"
              r"isn't|aren't|didn't|don't you|won't)\b")  # fmt: skip
POLITE = rx(r"^(?:(?:can|could|would|will) you|(?:can|could|shall) we) (?:please |kindly )?(?=\w)")
HYPOTHETICAL = rx(
    r"\b(?:if|unless|suppose|supposing|imagine|pretend|hypothetically|let'?s say|for example|"
    r"for instance|e\.g|such as|in the story|roleplay|role-play|told me to|asked me to|"
    r"(?:he|she|they|someone|somebody|people|(?:my|his|her|their|the|a|an|this|that) \w+) "
    r"(?:said|says|told|tells|asked|asks|wrote|writes|wants|wanted)|"
    r"(?:said|says|asked|wrote|replied|added) (?:the|a|an|my|his|her|their|he|she|they)\b)\b"
)  # fmt: skip  ("…, said the actor")
PERSIST = (
    r"from now on|from here on|going forward|moving forward|in (?:the )?future|henceforth|"
    r"when(?:ever)? you (?:answer|reply|respond|write|talk|speak|get back|write back|message|text)"
    r"(?: back)?(?: to me| me)?|no matter what (?:i ask|i say|you write)|"
    r"when(?:ever)? you (?:explain|describe) (?:something|anything|things|how)|"
    r"(?:every|each) time you (?:answer|reply|respond|write)(?: to me| me)?|"
    r"from here on(?: out)?|by default|every time|each time|at all times|"
    r"from (?:today|this point|this moment|this day|now|here) on(?:wards?)?|"
    r"from (?:today|now|here) onwards?|starting (?:today|now|immediately)|as of (?:today|now)|"
    r"in (?:everything|anything|all) you (?:say|write|send|tell me)(?: to me| me)?|for everything|"
    r"when(?:ever)? possible|wherever possible|where possible|whenever you can|"
    rf"in (?:(?:every|each) |all (?:of )?(?:your )?){ANSWERS}|for (?:all )?future {ANSWERS}"
)
# "From today, only small letters": a start said bare at the head (not "from today's news")
PERSIST_START = rx(rf"^(?:{PERSIST}|(?:from|starting|as of) (?:today|tomorrow)\b(?!['’]))[\s,:]*")
PERSIST_END = rx(rf"[\s,]+(?:{PERSIST}|ever(?: again)?|always|altogether|completely|entirely|"
                 r"for good|whatsoever)$")  # fmt: skip  ("No emojis, ever.")
POLITENESS = rx(r"(?:^(?:please|kindly|pls)[\s,]+|[\s,]+(?:please|pls|thanks|thank you|"
                r"again|ok(?:ay)?|alright|all right|for me|instead)$)")  # fmt: skip  ("… in Spanish instead")
# "keep things brief: under 50 words per reply": a bound said after a colon
BOUND = r"under|at most|no more than|not more than|fewer than|less than|max(?:imum)?(?: of)?|up to"
START = (rf"please|always|never|don'?t|do not|stop|avoid|call|address|refer|answer|reply|"
         r"respond|write|speak|talk|use|keep|be|sign|end|finish|close|format|make sure|"
         r"begin|start|open|kick(?: things)? off|lead|put|preface|add|append|remember|from now on|going forward|"
         r"from (?:today|this point|this moment|this day|here) on|starting (?:today|now|immediately)|"
         r"as of (?:today|now)|"
         r"i'?d|i'm|i (?:really )?(?:prefer|like|love|hate|want)|my name|you can|you should|"
         r"no more|limit|reply|greet|switch to|by default|just so you know|for the record|fyi|by the way|"
         r"feel free to|it(?:'d| would) be (?:great|nice|good|lovely|better|best) if|"
         r"(?:can|could|would|will) you|the (?:first|last) (?:word|words|line)|one thing|"
         r"i (?:don'?t|do not) (?:want|like|need)|i go by|just call|no|"
         # a reason after the rule: "ALL CAPS, please — I can't read small text"
         r"because|since|as (?:i|my)|i (?:can'?t|cannot|find|struggle)|my eyes|"
         r"it(?:'s| is) (?:easier|hard|harder|simpler)|"
         # a second fact: "I live in Porto and my cat is named Mochi"
         r"my (?:[a-z'-]+ ){1,2}(?:is|are)|i (?:live|work|was born|grew up|come from|moved|own|"
         r"have an?)|i'm (?:from|based|originally|allergic)|home(?: for (?:me|us))? is|"
         r"what i do for a living|for a living|i(?: [a-z'-]+){1,5} for a living|"
         r"stick to|stick with|give|conclude|structure|present|number (?:your|the)|"
         rf"{EVERYTHING}|nothing you (?:say|write|send)|"
         rf"(?:your|every|each|(?:all|each|every one)(?: of)?(?: your)?) {ANSWERS}")  # fmt: skip
# "Bullet points, always — I skim": a marker said last holds for the clause before it
_LAST_MARK = rf"(?!(?:{PERSIST}|always|ever)\s*(?:$|[.!?]|[—–]|--))"
# (a "please" set off by commas is no new clause: "Bullets, please, whenever you answer")
CLAUSE_BREAK = rx(rf"\s*(?:,|:|\s[—–]|\s--)\s*(?:(?:and|but|also|then|plus|so)[\s,]+)*{_LAST_MARK}"
                  rf"(?=(?:{START})\b)(?!please\s*(?:[,.!?]|$))|\s[—–]\s*(?=i\b)|"
                  rf"\s*:\s*(?=(?:{BOUND})\s+\S+\s+(?:words|sentences)\b)|"
                  r"\s*(?::|\s[—–]|\s--)\s*(?=\d+\s+(?:words|sentences)\b)|"  # "be brief — 25 words max"
                  rf"\s+(?:and|but|also|plus)[\s,]+(?:also[\s,]+)?(?=(?:{START})\b)")  # fmt: skip

# "My goldfish's name? Bubbles.": a noun phrase about the person, asked and answered
ASKED = rx(r"^(?:my|our) (?!(?:[a-z'-]+ )*(?:is|are|was|were|do|does|did|have|has)\b)"
           r"(?:[a-z'-]+ ){0,3}[a-z'-]+$")  # fmt: skip
REFUSED = rx(r"^(?:never|no|none|never again|not ever|no more|no thanks?|no thank you)"
             r"[\s,!]*(?:please|thanks|thank you|ever)?[\s!]*$")  # fmt: skip  ("Emojis? Never.")
# "…, if you would", "if you don't mind, …": politeness, not a condition
# "… even if I write in Spanish": a concession, not a condition on the preference
CONCESSION = rx(r",?\s+(?:even (?:if|when|though)|no matter (?:what|which|how)|whatever language)\b.*$")
POLITE_CONDITION = rx(
    r"(?:^|[\s,]+)(?:if|in case) (?:(?:that|it|this) (?:helps|matters|is (?:useful|relevant))|"
    r"you (?:would|could|can|will|please|may|(?:don'?t|do not|wouldn'?t|would "
    r"not) mind)(?: do that| do so)?|possible|(?:that'?s|that is|it'?s|it is) (?:ok(?:ay)?|"
    r"alright|all right|fine|not too much (?:trouble|to ask))|you'?d be so kind|you please)"
    r"(?=[\s,.!?]*$|\s*,)[\s,]*")  # fmt: skip
# "I'd like it if …", "it would be great if …": a wish, not a condition
LIKE_IT = r"i(?:'d| would) (?:appreciate it|like it|love it|prefer it)"
WISH = rf"(?:{LIKE_IT}|i(?:'d| would) be (?:grateful|glad|happy|thankful|delighted))"
GREAT = (r"it(?:'d| would) (?:be (?:great|nice|good|lovely|better|best)|help(?: me)?"
         r"(?: (?:a lot|a great deal|so much|greatly|a bunch))?)")  # fmt: skip
POLITE_IF = rx(rf"\b(?:{WISH}|{GREAT}) if\b")
# "whenever you write an email, …", "in emails, …", "when you write Python, …": what follows
# is about that kind of text
_PROGRAMMING = r"python|javascript|typescript|java|rust|golang|ruby|php|sql|bash|swift|kotlin|c\+\+"
_KIND_OF_TEXT = (rf"(?P<what>e-?mails?|letters?|code|scripts?|programs?|functions?|{_PROGRAMMING})"
                 r"(?: code| scripts?| programs?)?(?: (?:you (?:write|send|draft)|for me))*")  # fmt: skip
_IN = r"(?:in|for) (?:(?:all|every|each|any) (?:of )?)?(?:(?:your|my|the) )?"
_IN_KIND = rf"{_IN}{_KIND_OF_TEXT}"
_CONTEXT = (r"(?:(?:when(?:ever)?|every time|each time|if) you (?:write|draft|compose|send|give "
            rf"me)(?: me)? (?:an? |any |my |some )?|{_IN}){_KIND_OF_TEXT}")  # fmt: skip
CONTEXT = rx(rf"^{_CONTEXT}$")
CONTEXT_LEAD = rx(rf"^{_CONTEXT}\s*[,:]\s*(?=\S)")  # the clause break a comma did not make
# "all code you give me must include type hints", "each email should end with …": a rule on
# that kind of text
KIND_SHOULD = rx(r"^(?:(?:all|any|each|every) (?:of )?(?:the |your |my )?|(?:your |my )?"
                 rf"(?=(?:e-?mails|letters|scripts|programs|functions)\b)){_KIND_OF_TEXT}"
                 r"(?: you (?:give|write|send|draft)(?: me| for me)?)? (?:should|must|shall|need to|"
                 r"has to|have to|ought to|will)(?: always|(?P<neg> never| not))? (?P<x>.+)$")  # fmt: skip
# "answer in French in every email", "… in your code" — not a bare "in Python" ("write
# everything in Python" says what to write in)
CONTEXT_TAIL = rx(r"[\s,]+(?:in|for) (?:(?:(?:all|every|each|any) (?:of )?)?(?:(?:your|my|the) )|"
                  rf"(?:all|every|each|any) (?:of )?|(?=e-?mails\b|letters\b)){_KIND_OF_TEXT}$")  # fmt: skip
COPULA_END = rx(r"\b(?:be|is|are|was|were|been|written|coded|done|only)$")  # "… must be in Python"
LEAD = rx(r"^(?:i(?:'d| would)? (?:really )?(?:like|love|want|prefer|need)(?: for)? you to|"
          rf"(?:{WISH}) if you(?:'d| would| could| will| can)?|"
          rf"{GREAT} if(?: you)?|"
          r"(?:would you |do you )?mind(?= [a-z]+ing\b)|"
          r"you may|you can|i need you to|feel free to|"
          r"i(?:'d| would) rather you|i(?:'d| would) (?:like|love|prefer)(?: it)? if you|"
          r"i(?:'d| would)? (?:much |really )?prefer that you|"
          r"(?:make|be) sure (?:that )?(?:you |to )?|let'?s|let us|you should|you must|you can|try to|please|"
          r"kindly|(?:can|could|would|will) you (?:please )?(?:always )?|"
          r"do(?= (?!not\b|you\b|i\b|we\b|it\b|so\b|that\b)[a-z]))\b\s*")  # fmt: skip  ("do address me as …")
# verbs a wish or rule is said with beside VERBS: "… if you never went past two sentences"
TENSED = frozenset([*VERBS, "go", "run", "exceed", "limit", "switch", "stop", "let", "leave",
                     "drop", "skip", "type", "stay", "send", "conclude", "come", "arrive",
                     "appear"])  # fmt: skip
# a wish about the answers, said with them as the subject
RULE_LEAD = rx(rf"^(?:always )?(?:make sure|be sure|ensure|see to it|{LIKE_IT} if|{GREAT} if|"
               r"i(?:'d| would)? (?:much |really )?(?:prefer|like|want)(?: it)? (?:if|that))(?: that)? "
               rf"(?P<np>(?:(?:all|every|each|any) (?:of )?(?:your |the )?|your |the ){ANSWERS}"
               rf"{YOU_SEND}) (?:(?:would|will|could) )?(?P<x>.+)$")  # fmt: skip
_REMEMBER = (r"(?:remember|keep in mind|bear in mind|don'?t forget|never forget|note|for future "
             r"reference|for the record|fyi|just so you know)")  # fmt: skip
REMEMBER = rx(rf"^{_REMEMBER}(?:\s*[:,]\s*|\s+that\s+|\s+)(?P<x>.+)$")
REMEMBER_ALONE = rx(rf"^{_REMEMBER}[\s,:]*$")
# "I'd rather get my answers as bullet points": how the answers are wanted, said as receiving them
GET = rx(r"^i(?:'d| would)? (?:much |really )?(?:rather|like to|prefer to|want to|love to) "
         r"(?:get|have|receive|see|read) (?P<x>.+)$")  # fmt: skip
PREFER = rx(r"^i(?:'d| would)? (?:really |much |definitely |generally )?(?P<v>prefer|like|love|"
            r"appreciate|want)"
            r"\s+(?P<x>.+)$")  # fmt: skip
DISLIKE = rx(r"^i (?:really )?(?:hate|dislike|can'?t stand|don'?t like|do not like)"
             r"(?: it)?(?: when you)?\s+(?P<x>.+)$")  # fmt: skip
# "drop the emojis": a thing left out of the answers
DROP = ("drop", "ditch", "skip", "lose", "cut out", "leave out", "nix", "scrap", "cut")
NEGATIVE = rx(r"^(?P<neg>never(?: ever)?|don'?t(?: ever)?|do not(?: ever)?|stop|avoid|try not to|"
              r"steer clear of|stay away from|refrain from|"
              rf"no more|no longer|no|{'|'.join(DROP)})\s+(?P<x>.+)$")  # fmt: skip
ALWAYS = rx(r"^always\s+(?P<x>.+)$")
WANT = rx(rf"^i(?:'d| would)? (?:really )?(?:like|want|prefer|need|appreciate|love) "
          rf"(?P<x>(?P<np>{ANSWERS_NP}|{EVERYTHING})\b"
          r"(?: to (?P<to>\w.*)|.+))$")  # fmt: skip
SHOULD = rx(rf"^(?:(?:all |any |each |every )(?:of )?(?:your |the |my )?{ANSWERS}|"
            rf"(?:your |the |my )?(?:answers|replies|responses|messages|texts|outputs)|"
            rf"{EVERYTHING}|(?P<none>nothing you (?:say|write|send|tell|give)(?: to me| me)?))"
            rf"{YOU_SEND} "
            r"(?:should|must|shall|need to|have to|ought to|are to|will)(?: always|"
            r"(?P<neg> never| not))? (?P<x>(?!have been\b).+)$")  # fmt: skip
NO_MORE_THAN = rx(r"^(?:(?:no|not|nothing|none) (?:more|longer) than|nothing (?:over|above|beyond|past))\b")
# "home is Reykjavik": said by the person, "home" is theirs — when what it is is a name
# ("Home is Netflix and a sofa" is not a place)
ABOUT_ME = rx(r"\b(?:i|i'm|i've|my|me|we|we're|our|us)\b|"
              r"^(?:born and (?:raised|bred)|raised|grew up|(?:(?:currently|now|still) )?(?:living|based)) in\b|"
              r"^home\b(?=.{0,30}(?:\bis |'s )(?:in )?(?-i:[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2})"
              r"(?: now| these days| nowadays)?[.!]?$)")  # fmt: skip
FIRST_PERSON = rx(r"^(?:i|i'm|i've|i'd|i'll|my|me|mine|we|we've|we're|our)\b")
END_WITH = rx(r"^(?:end|finish|close|conclude|wrap up)\b.*?\b(?:with|by saying)\s+(?P<x>.+)$")
EMOJI = rx(rf"^(?:(?:use|add|include|put|using|adding|including|send|sending) )?(?:any |the )?"
           rf"(?:emojis?|emoticons|smileys)(?: in (?:your )?{ANSWERS})?$")  # fmt: skip
# what a rule on the answers says they are: "… should be (written) in", "… should come in"
BE = rx(r"^(?:be(?: (?:written|given|delivered|formatted|laid out|kept|typed|sent))?|come|arrive|"
        r"appear)\s+(?=\S)")  # fmt: skip
# "Numbered lists are what I want in all your answers": the thing wanted said first
CLEFT = rx(r"^(?P<x>.+?) (?:is|are) (?:what|all) i(?:'d)? (?:really )?(?:want|like|prefer|need|"
           r"ask for)(?P<rest> (?:in|for|from) .+)?$")  # fmt: skip
# "Emojis are banned from your answers": a thing not allowed in them, said of the thing
BANNED = rx(rf"^(?P<x>.{{1,40}}?) (?:are|is) (?:banned|forbidden|prohibited|not allowed|"
            rf"off[- ]limits|not welcome)"
            rf"(?P<scope> (?:from|in) (?:{ANSWERS_NP}|{EVERYTHING}))?$")  # fmt: skip
# "My boss always ends her emails with 'Best'": someone else's habit, not a rule for the answers
THIRD_PARTY = rx(rf"^(?:(?:my|our|his|her|their) (?!(?:[a-z'-]+ )?{ANSWERS}\b)[a-z'-]+(?: [a-z'-]+)?|"
                 r"he|she|they|someone|somebody|everyone|people) (?:always |usually |often |never |"
                 r"sometimes |also )?(?!is\b|was\b|has\b|goes\b|lives\b|works\b)[a-z]+s\b")  # fmt: skip
# a sentence about this answer only: none of its clauses is a standing rule
ONE_OFF = rx(r"\b(?:(?:for|on|in) (?:this|that) (?:one|answer|reply|question|message|time)|this time|"
             r"just (?:this|that) once|for now|(?:just |only )?for today)\b")  # fmt: skip
# "Could your answers be in Spanish from now on?": a rule on the answers, asked politely
POLITE_RULE = rx(rf"^(?:can|could|would|will) (?P<np>(?:(?:all|each|every|any) (?:of )?(?:your |the )?"
                 rf"{ANSWERS}|your (?:answers|replies|responses|messages))) (?=\w)")  # fmt: skip
# "I have a cat; her name is Luna.": the name said in a sentence of its own
PRONOUN_NAME = rx(r"^(?:her|his|its|their) name(?: is|'s)\s")
