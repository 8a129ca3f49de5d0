"""Paragraph-level removal of in-text boilerplate that generic extractors keep: "Lee también"
teasers, related-story blocks, calls to follow/subscribe, share prompts and photo credits.

Rules are generic (Spanish first, English too) and only ever drop short paragraphs, so a
reporting paragraph that happens to start with a trigger word survives.
"""

from __future__ import annotations

import re

# Optional bullets, arrows, emoji or quotes before a trigger.
_LEAD = r"^[\W_]{0,4}"
# Teasers and promos: dropped when the paragraph is at most _PROMO_MAX_WORDS long.
_PROMO = re.compile(
    _LEAD + r"(?:"
    r"(?:lee|lea|leer|ve|vea|ver|mira|mire|checa|revisa|descubre)\s+(?:también|tambien|además|ademas|más|mas|aquí|aqui)\b"
    r"|(?:también\s+|tambien\s+)?(?:te|le|les)\s+(?:puede|podría|podria|pueden|podrían|podrian)\s+interesar"
    r"|(?:puede|podría|podria)\s+interesarte|quizás?\s+te\s+interese"
    r"|(?:también\s+)?(?:te|le)\s+recomendamos"
    r"|(?:noticias|notas|artículos|articulos|contenidos?|historias|temas)\s+relacionad[oa]s"
    r"|relacionad[oa]s?\s*:|más\s+(?:noticias|información|sobre)\b|en\s+video\s*:"
    r"|s[íi]g(?:ue|a)nos\b|suscr[íi]b[ea]te|suscr[íi]base|[úu]nete\b|hazte\s+(?:miembro|socio)"
    r"|descarga\s+(?:nuestra|la)\s+app|recib[ea]\s+(?:las|nuestras|nuestro|el)\s+(?:noticias|bolet[íi]n|newsletter)"
    r"|compart[ea](?:lo)?\s+(?:esta|en|con)\b|apoya\s+(?:el|nuestro)\s+periodismo"
    r"|puede\s+escribirnos|escr[íi]b[ea]nos\b|cont[áa]ct[ae]nos\b|haz\s+clic|da\s+clic|click\s+aqu[íi]"
    r"|(?:read|see)\s+(?:more|also)\b|related(?:\s+(?:stories|articles|coverage|content))?\s*:"
    r"|sign\s+up\b|subscribe\b|follow\s+us\b|share\s+(?:this|on)\b|click\s+here"
    r")",
    re.IGNORECASE,
)
_PROMO_MAX_WORDS = 60
# A whole paragraph that is only a label: "Publicidad", "Compartir", "Advertisement".
_LABEL = re.compile(
    _LEAD + r"(?:publicidad|anuncio|compartir|comparte|advertisement|share|tweet|comentarios|comments)[\W_]*$",
    re.IGNORECASE,
)
# Photo/video credits and captions: "Foto: EFE", "Fotografía / Archivo", "(Photo: AP)".
_CREDIT = re.compile(
    r"(?:^|[\s(\[|])(?:foto|fotos|fotografía|fotografías|imagen|imágenes|ilustración|infografía|"
    r"video|crédito|créditos|cortesía|photo|image|credit|illustration)\s*(?:[:/|]|de\s+cortesía)",
    re.IGNORECASE,
)
_CREDIT_MAX_WORDS = 25
# A caption signed by its photographer: "… frente al juzgado. (Ana María López)".
_SIGNED_CAPTION = re.compile(r"\((?:[A-ZÁÉÍÓÚÑ][\w'.-]+\s*){2,4}\)$")
_CAPTION_MAX_WORDS = 35
# A call to follow a channel: a network name together with an invitation.
_NETWORK = re.compile(
    r"whatsapp|telegram|youtube|facebook|instagram|twitter|tiktok|google\s+news|newsletter|bolet[íi]n",
    re.IGNORECASE,
)
_INVITE = re.compile(
    r"s[íi]g(?:ue|a)nos|[úu]nete|suscr[íi]b|nuestr[oa]s?\s+(?:canal|redes|cuenta)|descarga|follow\s+us|subscribe|join\s+our|sign\s+up",
    re.IGNORECASE,
)
_CHANNEL_MAX_WORDS = 40
# After a bare "Notas relacionadas" header come headline-like lines (short, no final stop).
_HEADLINE_MAX_WORDS = 25
_SENTENCE_END = re.compile(r"[.!?:;…»\"”)]\s*$")


def is_boilerplate(paragraph: str) -> bool:
    """True for a teaser, promo, label, credit line or follow-us call."""
    words = len(paragraph.split())
    return bool(
        (words <= _PROMO_MAX_WORDS and _PROMO.search(paragraph))
        or _LABEL.match(paragraph)
        or (words <= _CREDIT_MAX_WORDS and _CREDIT.search(paragraph))
        or (words <= _CAPTION_MAX_WORDS and _SIGNED_CAPTION.search(paragraph))
        or (words <= _CHANNEL_MAX_WORDS and _NETWORK.search(paragraph) and _INVITE.search(paragraph))
    )


def _is_block_header(paragraph: str) -> bool:
    """A teaser label standing alone ("NOTAS RELACIONADAS", "Te puede interesar:")."""
    return len(paragraph.split()) <= 5 and bool(_PROMO.search(paragraph))


def _is_headline(paragraph: str) -> bool:
    return len(paragraph.split()) <= _HEADLINE_MAX_WORDS and not _SENTENCE_END.search(paragraph)


def strip_boilerplate(paragraphs: list[str]) -> list[str]:
    """Drops boilerplate paragraphs and the headline list that follows a related-stories label."""
    kept: list[str] = []
    in_related_block = False
    for paragraph in paragraphs:
        if in_related_block and _is_headline(paragraph):
            continue
        in_related_block = _is_block_header(paragraph)
        if not is_boilerplate(paragraph):
            kept.append(paragraph)
    return kept
