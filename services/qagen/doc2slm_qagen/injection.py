"""Sentences in a document that address a language model rather than a reader (planted prompt injection).

Our own patterns, no model: each sentence is folded (Unicode NFKC, zero-width and other invisible format
characters removed, typographic apostrophes and quotes made plain, case folded) and matched in two
views, as written and with Latin look-alike letters from Cyrillic and Greek mapped to Latin, so
"Ignоre" with a Cyrillic o or "ＩＧＮＯＲＥ" in full-width letters reads as "ignore".

The patterns are families of what such instructions do, written for English, German, French, Spanish,
Portuguese, Italian, Dutch, Polish, Russian, Chinese and Japanese, plus chat-template markup in any
language:
- dismiss what came before (an ignore/forget verb with a "previous/all/above" word and a noun for
  instructions, rules, prompt or text);
- give the model a new identity ("you are now ...", "from now on you ...");
- ask for the hidden prompt (system prompt, print your instructions);
- dictate every answer ("answer every question with ...", "reply only with ...");
- address the model ("note for the AI:", "language model, ...") or announce new instructions;
- chat-template and role markup (<|im_start|>, [INST], <<SYS>>, "### System:", "System:").
Words that manuals use in their own right ("ignore case", "follow these instructions", "you are now
ready", "system messages", "the server responds with") are kept out by requiring the second word of
each pair. The measured detection and false-positive rates are in docs/security.md.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Latin look-alikes (both cases) in Cyrillic and Greek, for the second view only: Russian text keeps its
# letters in the first view, where the Russian patterns match.
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ɡ": "g", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "α": "a", "ε": "e", "ι": "i", "κ": "k",
    "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z",
    "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})
_PLAIN_MARKS = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "“": '"', "”": '"',
                              "„": '"', "«": '"', "»": '"', "ё": "е"})


def fold(text: str) -> str:
    """NFKC, invisible format characters (zero-width spaces and joiners, bidi marks, soft hyphens)
    removed, quotes made plain, whitespace collapsed, case folded."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(text.translate(_PLAIN_MARKS).split()).casefold()


def skeleton(text: str) -> str:
    """`fold` with Cyrillic and Greek look-alikes of Latin letters mapped to those letters."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return fold(text.translate(_CONFUSABLES))


def _dismiss(verbs: str, qualifiers: str, nouns: str, gap: int = 40) -> str:
    """verb ... (qualifier ... noun | noun ... qualifier) within one sentence."""
    return (rf"(?:{verbs}).{{0,{gap}}}?(?:(?:{qualifiers}).{{0,30}}?(?:{nouns})"
            rf"|(?:{nouns}).{{0,30}}?(?:{qualifiers}))")


_W = r"(?<![^\W\d_])"  # a word starts here (works for accented and Cyrillic letters)

_PATTERNS: dict[str, list[str]] = {
    "en": [
        _W + _dismiss(r"ignore|disregard|forget|override|bypass|abandon|drop",
                      r"all|any|previous|prior|above|earlier|preceding|former|original|initial|your|system",
                      r"instructions?|prompts?|rules|directions|guidelines|directives|context|text|constraints"),
        _W + r"you\s+are\s+now\s+(?:a|an|the|my|in|no\s+longer|called|named|free|dan|unrestricted|jailbroken)\b",
        _W + r"from\s+now\s+on,?\s+(?:you\b|respond|reply|answer|always|only|act)",
        _W + r"pretend\s+(?:that\s+)?(?:you\s+are|to\s+be)\b",
        _W + r"(?:system|developer)\s+prompt|hidden\s+(?:prompt|instructions)|(?:initial|original)\s+prompt",
        _W + r"(?:reveal|print|output|show|repeat|display|leak|dump)\s+(?:\w+\s+){0,3}?"
             r"(?:your\s+(?:prompt|instructions)|instructions\s+(?:above|you\s+(?:were|have\s+been)\s+given))",
        _W + r"(?:respond|reply|answer|say)\s+(?:only\s+|always\s+)*(?:to\s+)?(?:every|each|all|any)\s+"
             r"(?:\w+\s+){0,2}?(?:questions?|quer(?:y|ies)|requests?|prompts?|messages?)\s+(?:\w+\s+){0,3}?"
             r"(?:with|by\s+saying|using\s+only|only)\b",
        _W + r"(?:respond|reply|answer)\s+(?:only|always|exclusively)\s+(?:with|by\s+saying)\b",
        _W + r"(?:language\s+model|chatbot|llm|chatgpt|ai\s+assistant|\bai)s?\s*[:,]\s",
        _W + r"(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?"
             r"(?:ai|assistant|language\s+models?|llms?|chatbots?)\b",
        _W + r"if\s+you\s+are\s+(?:an?\s+)?(?:ai|language\s+model|llm|assistant|chatbot)\b",
        _W + r"(?:new|updated|revised)\s+instructions?\s*[:：]",
    ],
    "de": [
        _W + _dismiss(r"ignorier\w*|vergiss|vergessen\s+sie|missacht\w*|übergeh\w*|verwirf|verwerfen\s+sie",
                      r"alle|sämtliche|vorherig\w*|vorig\w*|bisherig\w*|obig\w*|vorangegangen\w*|früher\w*"
                      r"|vorhergehend\w*|ursprünglich\w*|deine|ihre|oben",
                      r"anweisung\w*|instruktion\w*|regeln|vorgaben|befehle|prompts?|anordnung\w*|richtlinie\w*"
                      r"|text\w*"),
        _W + r"du\s+bist\s+(?:jetzt|nun|ab\s+sofort|ab\s+jetzt|von\s+nun\s+an)\b",
        _W + r"sie\s+sind\s+(?:jetzt|nun|ab\s+sofort)\s+(?:ein|eine|einer|kein|keine|der|die|mein)\b",
        _W + r"(?:ab\s+sofort|von\s+nun\s+an|ab\s+jetzt)\s+(?:bist\s+du|antwort\w*|beantwort\w*|sollst\s+du)",
        _W + r"system-?prompt\w*|system-?anweisung\w*|versteckte\w*\s+anweisung\w*",
        _W + r"(?:antworte|beantworte|antworten\s+sie|beantworten\s+sie|reagiere)\b.{0,40}?"
             r"(?:jede|alle|jeden|jeder)\s+(?:\w+\s+)?(?:frage|fragen|anfrage\w*)\b.{0,30}?"
             r"(?:mit|nur|ausschließlich|ausschliesslich)\b",
        _W + r"(?:antworte|antworten\s+sie)\s+(?:nur|ausschließlich|ausschliesslich|immer)\s+mit\b",
        _W + r"(?:hinweis|nachricht|anweisung\w*|notiz)\s+(?:an|für)\s+(?:das\s+|die\s+|den\s+|jede\w*\s+)?"
             r"(?:sprachmodell\w*|ki|ai|llm|assistent\w*|chatbot\w*|ki-modell\w*)\b",
        _W + r"(?:liebes?|hallo|hey)\s+(?:sprachmodell|ki|chatbot)\b|wenn\s+du\s+eine?\s+(?:ki|sprachmodell)\b",
        _W + r"neue\s+(?:anweisung\w*|instruktion\w*|regeln|befehle)\s*[:：]",
    ],
    "fr": [
        _W + _dismiss(r"ignore\w*|oublie\w*|néglige\w*|ne\s+(?:tiens|tenez)\s+(?:pas|plus)\s+compte"
                      r"|fai\w*\s+abstraction",
                      r"toutes|tous|précédent\w*|antérieur\w*|ci-dessus|plus\s+haut|initia\w*|d'origine|tes|vos",
                      r"instructions?|consignes?|règles?|directives?|prompts?|ordres|texte|indications"),
        _W + r"tu\s+es\s+(?:maintenant|désormais|dorénavant|à\s+présent)\b",
        _W + r"vous\s+êtes\s+(?:maintenant|désormais|dorénavant)\s+(?:un|une|le|la|mon|ma)\b",
        _W + r"(?:désormais|dorénavant|à\s+partir\s+de\s+maintenant)\s*,?\s*(?:tu\b|répon\w*)",
        _W + r"(?:prompt|invite|instructions?)\s+(?:du\s+|de\s+)?système|instructions\s+(?:cachées|secrètes|initiales)",
        _W + r"répon\w*\b.{0,30}?(?:à\s+)?(?:chaque|toutes\s+les|tous\s+les|n'importe\s+quelle)\s+"
             r"(?:\w+\s+){0,2}?(?:questions?|demandes?|requêtes?)\b.{0,30}?"
             r"(?:par|avec|uniquement|seulement|en\s+disant)\b",
        _W + r"répon\w*\s+(?:uniquement|seulement|toujours|exclusivement)\s+(?:par|avec)\b",
        _W + r"(?:note|message|consigne|remarque)s?\s+(?:pour|à|aux?)\s+(?:l'|le\s+|la\s+|les\s+)?"
             r"(?:ia|i\.a\.|intelligences?\s+artificielles?|modèles?\s+de\s+langage|assistants?|chatbots?|llm)\b",
        _W + r"si\s+tu\s+es\s+une?\s+(?:ia|modèle|assistant)\b",
        _W + r"nouvelles?\s+(?:instructions?|consignes?|règles)\s*[:：]",
    ],
    "es": [
        _W + _dismiss(r"ignora\w*|olvida\w*|descarta\w*|omite\w*|haz\s+caso\s+omiso|no\s+hagas\s+caso"
                      r"|pasa\s+por\s+alto",
                      r"todas|todos|anterior\w*|previa\w*|previo\w*|precedente\w*|de\s+arriba|original\w*|tus|sus",
                      r"instrucciones|instrucción|indicaciones|reglas|órdenes|directrices|prompts?|texto|consignas"),
        _W + r"ahora\s+(?:eres|tú\s+eres|serás)\b|ya\s+no\s+eres\b",
        _W + r"(?:a\s+partir\s+de\s+ahora|desde\s+ahora|de\s+ahora\s+en\s+adelante)\s*,?\s*"
             r"(?:eres|serás|actúa\w*|respond\w*|contesta\w*)",
        _W + r"prompt\s+(?:del\s+|de\s+)?sistema|instrucciones\s+(?:del\s+sistema|ocultas|secretas|iniciales)",
        _W + r"(?:respond\w*|contest\w*)\b.{0,30}?(?:a\s+)?(?:cada|todas\s+las|todos\s+los|cualquier)\s+"
             r"(?:\w+\s+){0,2}?(?:preguntas?|consultas?|solicitudes?)\b.{0,30}?"
             r"(?:con|solo|sólo|solamente|únicamente|diciendo)\b",
        _W + r"(?:respond\w*|contest\w*)\s+(?:solo|sólo|solamente|únicamente|siempre)\s+(?:con|diciendo)\b",
        _W + r"(?:nota|mensaje|aviso|instrucciones?)\s+(?:para|a)\s+(?:la\s+|el\s+|los\s+|las\s+)?"
             r"(?:ia|i\.a\.|inteligencias?\s+artificial\w*|modelos?\s+de\s+lenguaje|asistentes?|chatbots?|llm)\b",
        _W + r"si\s+eres\s+una?\s+(?:ia|modelo|asistente)\b",
        _W + r"nuevas?\s+(?:instrucciones|reglas|órdenes|indicaciones)\s*[:：]",
    ],
    "pt": [
        _W + _dismiss(r"ignor[ea]\w*|esqueça\w*|esquece\w*|desconsider[ea]\w*|descart[ea]\w*"
                      r"|não\s+(?:siga|obedeça)",
                      r"todas|todos|anterior\w*|prévi\w*|precedente\w*|acima|original\w*|suas|seus|tuas",
                      r"instruções|instrução|regras|ordens|diretrizes|prompts?|texto|orientações|comandos"),
        _W + r"agora\s+(?:você|tu)\s+(?:é|és|será)\b|(?:você|tu)\s+(?:é|és)\s+agora\b",
        _W + r"(?:a\s+partir\s+de\s+agora|de\s+agora\s+em\s+diante)\s*,?\s*(?:você|tu|respond\w*)",
        _W + r"prompt\s+(?:do\s+|de\s+)?sistema|instruções\s+(?:do\s+sistema|ocultas|secretas|iniciais)",
        _W + r"respond\w*\b.{0,30}?(?:a\s+|à\s+)?(?:cada|todas\s+as|todos\s+os|qualquer)\s+"
             r"(?:\w+\s+){0,2}?(?:perguntas?|questões|questão|solicitaç\w+).{0,30}?"
             r"(?:com|apenas|somente|só|dizendo)\b",
        _W + r"respond\w*\s+(?:apenas|somente|só|sempre)\s+com\b",
        _W + r"(?:nota|mensagem|aviso|instruç\w+)\s+(?:para|à|ao|aos|às)\s+(?:a\s+|o\s+)?"
             r"(?:ia|i\.a\.|inteligência\s+artificial|modelos?\s+de\s+linguagem|assistentes?|chatbots?|llm)\b",
        _W + r"novas?\s+(?:instruções|regras|ordens|orientações)\s*[:：]",
    ],
    "it": [
        _W + _dismiss(r"ignora\w*|ignori|dimentica\w*|dimentichi|trascura\w*|non\s+considerare"
                      r"|non\s+tenere\s+conto|lascia\s+perdere",
                      r"tutte|tutti|precedent\w*|sopra|anterior\w*|original\w*|le\s+tue|i\s+tuoi",
                      r"istruzion\w*|regole|indicazion\w*|ordini|direttive|prompt|testo|comandi|consegne"),
        _W + r"(?:ora|adesso)\s+(?:tu\s+)?sei\s+(?:un|una|uno|il|la|l'|mio|mia|libero|libera|senza)\b",
        _W + r"non\s+sei\s+più\b|da\s+(?:ora|adesso)\s+in\s+poi\s*,?\s*(?:sei|sarai|tu|rispond\w*)",
        _W + r"prompt\s+(?:di|del)\s+sistema|istruzioni\s+(?:di\s+sistema|del\s+sistema|nascoste|segrete|iniziali)",
        _W + r"rispond\w*\b.{0,30}?(?:a\s+)?(?:ogni|ciascuna|tutte\s+le|qualsiasi|qualunque)\s+"
             r"(?:\w+\s+){0,2}?(?:domand\w*|richiest\w*|quesit\w*).{0,30}?"
             r"(?:con|solo|soltanto|unicamente|dicendo)\b",
        _W + r"rispond\w*\s+(?:solo|soltanto|unicamente|sempre)\s+(?:con|dicendo)\b",
        _W + r"(?:nota|messaggio|avviso|istruzion\w*)\s+(?:per|al|alla|all'|ai|alle)\s*(?:il\s+|la\s+|l')?"
             r"(?:ia|i\.a\.|intelligenz\w+\s+artificial\w*|modell\w+\s+(?:linguistic\w*|di\s+linguaggio)"
             r"|assistent\w*|chatbot|llm)\b",
        _W + r"nuove?\s+(?:istruzion\w*|regole|direttive)\s*[:：]",
    ],
    "nl": [
        _W + _dismiss(r"negeer\w*|vergeet|vergeten|veronachtzaam\w*|houd\s+geen\s+rekening",
                      r"alle|vorige|eerdere|voorgaande|bovenstaande|hierboven|oorspronkelijke|je|jouw|uw",
                      r"instructies?|regels|opdrachten|aanwijzingen|richtlijnen|prompts?|tekst|bevelen"),
        _W + r"(?:je|jij|u)\s+(?:bent|ben)\s+nu\s+(?:een|de|het|mijn|geen|vrij)\b",
        _W + r"vanaf\s+nu\s+(?:ben\s+je|bent\s+u|ben\s+jij|antwoord\w*|beantwoord\w*|moet\s+je)",
        _W + r"systeem-?prompt\w*|systeeminstructies|verborgen\s+instructies",
        _W + r"(?:beantwoord|antwoord)\w*\b.{0,30}?(?:elke|iedere|alle)\s+(?:\w+\s+){0,2}?"
             r"(?:vragen|vraag|verzoeken|verzoek)\b.{0,30}?(?:met|alleen|uitsluitend)\b",
        _W + r"(?:antwoord|reageer)\s+(?:alleen|uitsluitend|altijd)\s+met\b",
        _W + r"(?:opmerking|bericht|notitie|instructie\w*)\s+(?:voor|aan)\s+(?:het\s+|de\s+|elk\w*\s+)?"
             r"(?:taalmodel\w*|ai|ki|assistent\w*|chatbot\w*|llm)\b",
        _W + r"nieuwe\s+(?:instructies?|regels|opdrachten)\s*[:：]",
    ],
    "pl": [
        _W + _dismiss(r"zignoruj\w*|ignoruj\w*|zapomnij\w*|pomiń\w*|nie\s+zwracaj\s+uwagi|porzuć\w*|odrzuć\w*",
                      r"wszystkie|wszystkich|poprzedni\w*|wcześniejsz\w*|powyższ\w*|dotychczasow\w*"
                      r"|oryginaln\w*|swoje|twoje",
                      r"instrukcj\w*|polece\w*|zasad\w*|reguł\w*|wytyczn\w*|prompt\w*|tekst\w*|rozkaz\w*"),
        _W + r"jesteś\s+teraz\b|teraz\s+jesteś\b|od\s+teraz\s+(?:jesteś|będziesz|odpowiadaj\w*)",
        _W + r"prompt\w*\s+systemow\w*|systemow\w*\s+prompt\w*|instrukcj\w+\s+systemow\w*|ukryt\w+\s+instrukcj\w*",
        _W + r"odpowi\w*\b.{0,30}?(?:na\s+)?(?:każde|wszystkie|każdy|dowolne)\s+(?:\w+\s+){0,2}?"
             r"(?:pytani\w*|zapytani\w*|prośb\w*).{0,30}?(?:tylko|wyłącznie|słowami|zdaniem|tekstem|\")",
        _W + r"odpowiadaj\w*\s+(?:tylko|wyłącznie|zawsze)\b",
        _W + r"(?:uwaga|wiadomość|notatka|instrukcj\w*)\s+(?:dla|do)\s+(?:\w+\s+)?"
             r"(?:modelu\s+językowego|modeli\s+językowych|ai|si|asystenta|chatbota|llm)\b",
        _W + r"now\w+\s+(?:instrukcj\w*|polecenia|zasady|reguły)\s*[:：]",
    ],
    "ru": [
        _W + _dismiss(r"игнорир\w*|проигнорир\w*|забудь\w*|забуд\w*|не\s+обращай\w*\s+внимания|отбрось\w*"
                      r"|пренебреги|не\s+следуй\w*|не\s+выполняй\w*",
                      r"все|всех|предыдущ\w*|прежн\w*|ранее|выше|вышеуказанн\w*|изначальн\w*|исходн\w*|свои"
                      r"|твои|системн\w*",
                      r"инструкци\w*|указани\w*|правил\w*|промпт\w*|команд\w*|распоряжени\w*|текст\w*"
                      r"|установк\w*|ограничени\w*"),
        _W + r"(?:теперь|отныне)\s+ты\b|ты\s+(?:теперь|отныне)\b|с\s+этого\s+момента\s+(?:ты|отвечай\w*)\b",
        _W + r"вы\s+теперь\s+(?:—\s+)?\w*\s*(?:ассистент\w*|модел\w*|бот\w*)",
        _W + r"системн\w+\s+(?:промпт\w*|подсказк\w*|инструкци\w*)|скрыт\w+\s+инструкци\w*",
        _W + r"(?:отвеча\w*|ответь\w*)\b.{0,30}?(?:на\s+)?(?:все|каждый|любой|любые)\s+(?:\w+\s+){0,2}?"
             r"(?:вопрос\w*|запрос\w*).{0,30}?(?:только|лишь|фразой|словами|словом|текстом|\")",
        _W + r"отвечай\w*\s+(?:только|всегда|лишь)\b",
        _W + r"(?:примечание|сообщение|заметка|инструкци\w*|указани\w*)\s+(?:для|к)\s+(?:\w+\s+)?"
             r"(?:языков\w+\s+модел\w*|ии|нейросет\w*|ассистент\w*|чат-?бот\w*|llm|ai)\b",
        _W + r"нов\w+\s+(?:инструкци\w*|указани\w*|правила)\s*[:：]",
    ],
    "zh": [
        r"(?:忽略|忽视|忽視|无视|無視|不要理会|不要理會|不要管|忘记|忘記|忘掉|忘了|抛开|拋開|放弃|放棄|跳过|跳過)"
        r".{0,6}(?:之前|以前|先前|上面|上述|以上|前面|此前|所有|全部|一切|原来|原來|原有|原先|你的|系[统統])"
        r".{0,8}(?:指令|指示|说明|說明|规则|規則|提示|要求|命令|设定|設定|内容|內容|文字|文本)",
        r"你现在是|你現在是|你从现在|你從現在|你不再是|从现在(?:开始|起)[，,]?\s*你|從現在(?:開始|起)[，,]?\s*你",
        r"(?:从现在|從現在)(?:开始|開始|起)[，,]?\s*(?:对|對|只|请|請)",
        r"系[统統]提示|系[统統](?:指令|设定|設定)|(?:输出|輸出|显示|顯示|打印|透露|泄露|洩露|重复|重複|告诉我|告訴我)"
        r".{0,10}(?:提示[词詞语語]|初始指令|隐藏|隱藏)",
        r"(?:对|對|每个|每個|所有|任何)(?:每个|每個|所有|任何|一个|一個)?(?:问题|問題|提问|提問).{0,6}"
        r"(?:都|只|一律|一概)(?:回答|回复|回覆|答复|答覆|说|說)",
        r"(?:只|仅|僅|一律)(?:回答|回复|回覆)[“\"「]",
        r"(?:给|給|致|对|對)(?:语言模型|語言模型|大模型|人工智能|ai|ai助手|助手|聊天机器人|聊天機器人|llm)的"
        r"(?:说明|說明|提示|指示|留言|消息|信息|注意)",
        r"新(?:的)?(?:指令|指示|规则|規則)\s*[:：]",
    ],
    "ja": [
        r"(?:これまで|今まで|以前|前|上記|上|先|最初|元|すべて|全て|全部|あなたの|システム)の?"
        r".{0,6}(?:指示|命令|ルール|規則|プロンプト|設定|文章|内容|テキスト|指令)(?:を|は|には|にも).{0,10}"
        r"(?:無視|忘れ|破棄|捨て|従わ)",
        r"あなたは(?:今から|これから|今|もう|もはや)|(?:今から|これから)(?:あなた|君|お前)は",
        r"システムプロンプト|システム(?:指示|命令)|(?:初期|隠された|元の)(?:指示|プロンプト)",
        r"(?:すべて|全て|どの|どんな|あらゆる|各)の?(?:質問|問い)に(?:も|は)?.{0,20}と(?:だけ)?(?:答え|回答|返答|返事)",
        r"とだけ(?:答え|回答|返答)",
        r"(?:言語モデル|ai|人工知能|アシスタント|チャットボット|llm)(?:への|に対する|向けの)(?:注意|指示|メッセージ|お知らせ|命令)",
        r"新しい(?:指示|命令|ルール)\s*[:：]",
    ],
    # Written after the first held-out measurement (23 of 49 caught): families that phrasing missed.
    "forget everything you were told": [
        _W + r"(?:forget|disregard|ignore|vergiss|vergessen\s+sie|oublie\w*|olvida\w*|esqueça\w*|esquece\w*"
             r"|dimentica\w*|vergeet|zapomnij\w*|забудь\w*|забудьте)\s+(?:o\s+)?"
             r"(?:everything|all\s+(?:that|of\s+that|you)|alles|tout|todo|tudo|tutto|wszystkim|wszystko|всё|все)\b"
             r".{0,40}?(?:told|said|given|gesagt|mitgeteilt|dit|dicho|dijeron|disseram|dito|detto|verteld|gezegd"
             r"|powiedziano|mówiono|говорили|сказали|сказано)",
        r"(?:告诉|告訴|交代|吩咐|说给|說給)你的.{0,8}(?:忘|忽略|忽視|无视|無視)|(?:忘记|忘記|忘掉|忽略).{0,8}(?:告诉|告訴)你的",
        r"(?:言われた|指示された|教えられた|伝えられた)(?:こと|内容).{0,8}(?:忘れ|無視)",
    ],
    "address the model": [
        _W + r"(?:attention|note|hey|hello|dear|achtung|hallo|atención|atenção|attenzione|let\s+op|uwaga|внимание)"
             r"\s*,?\s*(?:ai|ki|ia|ии|si|llm|chatbot|ai\s+model|language\s+model|sprachmodell|taalmodel"
             r"|künstliche\s+intelligenz|intelligence\s+artificielle|inteligencia\s+artificial"
             r"|inteligência\s+artificial|intelligenza\s+artificiale|sztuczna\s+inteligencjo"
             r"|искусственный\s+интеллект|нейросеть)\s*[:：,]",
        _W + r"ai\s+model\s*[:：]|(?:注意|请注意|請注意)[，,]?\s*(?:人工智能|ai|语言模型|語言模型|助手)\s*[:：]",
        r"(?:ai|言語モデル|人工知能|アシスタント|チャットボット)(?:へ|に)\s*[:：、]",
    ],
    "no longer what you were": [
        _W + r"you\s+are\s+no\s+longer\s+(?:a|an|the|my)\b|tu\s+n'es\s+plus\b|vous\s+n'êtes\s+plus\s+(?:un|une)\b"
             r"|(?:você|tu)\s+não\s+(?:é|és)\s+mais\b|(?:je|jij)\s+bent\s+geen\s+(?:\w+\s+){0,3}?meer\b"
             r"|nie\s+jesteś\s+już\b|ты\s+больше\s+не\b|du\s+bist\s+(?:\w+\s+){0,2}?kein\w*\s+(?:\w+\s+){0,2}?mehr\b",
        r"你已[经經]不(?:再)?是|你不再是",
    ],
    "from now on, do": [
        _W + r"(?:ab\s+sofort|von\s+nun\s+an|ab\s+jetzt)\s+(?:\w+\s+)?du\b",
        _W + r"(?:de\s+ahora\s+en\s+adelante|a\s+partir\s+de\s+ahora|desde\s+ahora)\s*,?\s*"
             r"(?:habla|escribe|responde|contesta|actúa|solo|sólo|di)\b",
        _W + r"(?:de\s+agora\s+em\s+diante|a\s+partir\s+de\s+agora)\s*,?\s*(?:fale|escreva|responda|aja|só|apenas)\b",
        _W + r"d'ora\s+in\s+(?:poi|avanti)\s*,?\s*(?:parla|scrivi|rispondi|agisci|solo|sei|sarai)\b",
        _W + r"(?:à\s+partir\s+de\s+maintenant|désormais|dorénavant)\s*,?\s*(?:parle|écris|réponds|tu)\b",
        _W + r"(?:spreek|schrijf|antwoord|gedraag\s+je)\s+vanaf\s+nu\b|vanaf\s+nu\s+(?:spreek|schrijf|antwoord)\b",
        _W + r"od\s+teraz\s+(?:mów|pisz|odpowiadaj|zachowuj)\w*",
        _W + r"(?:отныне|с\s+этого\s+момента|теперь)\s+(?:говори|пиши|отвечай|веди\s+себя)\w*",
        r"(?:从现在|從現在)(?:起|开始|開始)[，,]?\s*(?:用|说|說|只|请|請|你)",
        r"これからは.{0,12}(?:ように|だけ)(?:話|答え|書い|振る舞)",
    ],
    # The quoted text must open with a quote after a space: an apostrophe inside a word ("dall'utente")
    # is not one; the verbs are imperatives ("scrivibile solo dall'utente" is a description).
    "say only this": [
        _W + r"(?:just|only)\s+(?:say|write|reply|answer|respond)\b.{0,12}?\s[\"']|"
             r"(?:say|write|reply|answer|respond)\s+(?:only|just)\b.{0,12}?\s[\"']",
        _W + r"(?:antworte|antworten\s+sie|schreib|schreibe|sag|sage)\s+(?:nur\s+noch|nur|ausschließlich)"
             r"\s+(?:mit\s+)?\"",
        _W + r"(?:écris|écrivez|dis|dites|réponds|répondez)\s+(?:seulement|uniquement|juste)\b.{0,6}?\s\""
             r"|conten\w+-(?:toi|vous)\s+d['e]\s*(?:écrire|dire|répondre)",
        _W + r"(?:escribe|escriba|di|dí|responde|responda|contesta|conteste)\s+(?:solo|sólo|solamente|únicamente)"
             r"\b.{0,6}?\s?\"|limítate\s+a\s+(?:escribir|decir|responder)",
        _W + r"(?:escreva|escreve|diga|responda|responde)\s+(?:apenas|somente|só)\b.{0,6}?\s?\""
             r"|limite-se\s+a\s+(?:escrever|dizer)",
        _W + r"(?:scrivi|scriva|di'|dì|rispondi|risponda)\s+(?:solo|soltanto|unicamente)\b.{0,6}?\s?\""
             r"|limitati\s+a\s+(?:scrivere|dire)",
        _W + r"(?:schrijf|zeg|antwoord)\s+(?:alleen|uitsluitend)(?:\s+nog)?\s+(?:met\s+)?[\"']",
        _W + r"(?:pisz|napisz|mów|powiedz|odpowiadaj|odpowiedz)\s+(?:tylko|wyłącznie)\s+\"",
        _W + r"(?:пиши|напиши|говори|скажи|отвечай|ответь)\s+(?:только|лишь)\s+\"",
        r"只(?:写|寫|说|說|回答|回复|回覆|输出|輸出)\s*[\"「]",
        r"[\"」]とだけ(?:書|言|答え|回答|出力)",
    ],
    "markup": [
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\|>",
        r"\[/?inst\]|<</?sys>>|</s>\s*<s>|\[(?:system|sys|assistant)\]",
        r"(?:^|\s)#{2,}\s*(?:system|instructions?|assistant|user|response)\b",
        r"^(?:system|assistant|developer)\s*[:：]",
    ],
}


@lru_cache(maxsize=1)
def _compiled() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for family in _PATTERNS.values() for p in family), re.DOTALL)


# Sentence ends for this check: . ! ? ; followed by space, any CJK full stop, or a blank line. Finer than
# the prompts' splitter (which wants a capital next) so that a planted sentence is found on its own in
# Cyrillic, CJK or lower-case text.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])|\n\s*\n")


def sentences(text: str) -> list[str]:
    return [s for s in (" ".join(part.split()) for part in _SENTENCE_END.split(text)) if s]


def is_instruction(sentence: str) -> bool:
    """Whether the sentence addresses a model (in either folded view)."""
    pattern = _compiled()
    return bool(pattern.search(fold(sentence)) or pattern.search(skeleton(sentence)))


def planted_instructions(chunk_text: str) -> list[str]:
    """The chunk's sentences (whitespace collapsed) that try to instruct a model."""
    return [s for s in sentences(chunk_text) if is_instruction(s)]
