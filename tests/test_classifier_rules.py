"""The labelling conventions every tagger applies after its scores."""

from classifiers.base import consistent_labels
from classifiers.keywords import KeywordTagger


def test_feminicide_implies_homicide() -> None:
    assert consistent_labels(["feminicide"], ["civilians"]) == (["feminicide", "homicide"], ["civilians"])


def test_unspecified_gang_only_when_no_gang_is_named() -> None:
    assert consistent_labels(["homicide"], ["gang_unspecified", "ms13"])[1] == ["ms13"]
    assert consistent_labels(["homicide"], ["gang_unspecified"])[1] == ["gang_unspecified"]


def test_no_actors_without_violence() -> None:
    assert consistent_labels([], ["police", "justice_government"]) == ([], [])


def test_keyword_tagger_applies_the_conventions() -> None:
    text = (
        "La PNC capturó a dos pandilleros de la MS-13 por el homicidio de un comerciante en "
        "Ilopango, según la Fiscalía."
    )
    tags = KeywordTagger().tag([("Capturan a pandilleros", text)])[0]
    assert "ms13" in tags.actor and "gang_unspecified" not in tags.actor
    assert tags.department == ["San Salvador"]
    assert KeywordTagger().tag([("Concierto", "La orquesta tocó anoche en Santa Ana.")])[0].actor == []
