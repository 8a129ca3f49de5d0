"""The event-location step keeps the scene of the events, not every place a report names."""

import pytest

from classifiers.location import event_location


def departments(text: str, title: str = "") -> list[str]:
    return event_location(title, text)[0]


def test_scene_kept_and_court_seat_dropped() -> None:
    text = (
        "El Tribunal Primero de Sentencia de Santa Tecla condenó a un hombre por el homicidio "
        "cometido en el cantón El Palmar, municipio de Izalco."
    )
    assert departments(text) == ["Sonsonate"]


@pytest.mark.parametrize(
    "seat",
    [
        "será puesto a la orden del Juzgado Quinto de Instrucción de Chalatenango",
        "la Cámara Segunda de lo Penal de Santa Ana confirmó la condena",
        "la oficina regional, que tiene su sede en San Miguel, coordinó la entrega",
        "cumplía su pena en el penal de máxima seguridad en Zacatecoluca",
        "tiene orden de captura emitida en San Francisco Gotera, Morazán, por homicidio",
        "un juez de Ilobasco giró la orden",
    ],
)
def test_institution_seats_are_not_scenes(seat: str) -> None:
    assert departments(f"Un sospechoso de homicidio fue detenido. Según el informe, {seat}.") == []


def test_department_after_a_dropped_seat_is_dropped_too() -> None:
    assert departments("La Cámara de lo Penal de Santa Tecla, La Libertad, revisó el caso.") == []
    text = "Asesinado en Nahuizalco, departamento de Sonsonate, ante el Juzgado de Paz de Santa Tecla."
    assert departments(text) == ["Sonsonate"]


def test_origin_and_home_are_not_scenes() -> None:
    text = (
        "El acusado, originario de Teotepeque, atacó a su vecino en Apopa. La víctima intentaba "
        "regresar a su hogar, en Monte San Juan, Cojutepeque."
    )
    assert departments(text) == ["San Salvador"]


def test_related_links_after_the_article_are_ignored() -> None:
    text = (
        "Capturan a dos pandilleros en Soyapango por extorsión. MÁS SOBRE ESTE TEMA Detienen a sospechoso en Usulután"
    )
    assert departments(text) == ["San Salvador"]


def test_department_named_as_a_phrase_or_subject_is_not_a_place() -> None:
    assert departments("El acuerdo consolidó La Paz entre los vecinos tras el ataque en Ilobasco.") == ["Cabañas"]
    assert departments("Hubo un asesinato en Apopa. Cabañas, que es el departamento más pequeño, no tuvo.") == [
        "San Salvador"
    ]
    assert departments("Un asesinato en La Paz y otro en el departamento de Morazán.") == ["La Paz", "Morazán"]


def test_landmarks_and_ambiguous_surnames() -> None:
    assert departments("Fue capturado en el Aeropuerto Internacional de El Salvador.") == ["La Paz"]
    assert departments("La masacre de El Mozote fue juzgada de nuevo.") == ["Morazán"]
    assert departments("Lo dijo el fiscal Rodolfo Delgado tras el crimen.") == []
    assert departments("El crimen ocurrió en San José, Costa Rica.") == []


def test_capital_as_seat_dropped_when_another_department_is_named() -> None:
    text = "Las autoridades en San Salvador informaron del homicidio ocurrido en Chalchuapa."
    assert departments(text) == ["Santa Ana"]
    assert event_location("", "Un homicidio en Chalchuapa.")[1] == ["Santa Ana Oeste"]
