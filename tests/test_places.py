"""The gazetteer maps municipalities and districts to departments and resolves ambiguous names."""

import pytest

from classifiers.places import find_places, gazetteer

# (district or 2024 municipality as written in the press, its department) — labelling.md examples
# plus one per department.
KNOWN = [
    ("Soyapango", "San Salvador"),
    ("Colón", "La Libertad"),
    ("Apopa", "San Salvador"),
    ("Ilopango", "San Salvador"),
    ("Zacatecoluca", "La Paz"),
    ("Atiquizaya", "Ahuachapán"),
    ("Metapán", "Santa Ana"),
    ("Izalco", "Sonsonate"),
    ("Nueva Concepción", "Chalatenango"),
    ("Cojutepeque", "Cuscatlán"),
    ("Ilobasco", "Cabañas"),
    ("Tecoluca", "San Vicente"),
    ("Jiquilisco", "Usulután"),
    ("Chinameca", "San Miguel"),
    ("San Francisco Gotera", "Morazán"),
    ("Santa Rosa de Lima", "La Unión"),
    ("Santa Tecla", "La Libertad"),
    ("Nueva San Salvador", "La Libertad"),
    ("San Salvador Centro", "San Salvador"),
    ("La Libertad Costa", "La Libertad"),
]


def test_sizes_of_the_2024_division() -> None:
    g = gazetteer()
    places = {p for readings in g.readings.values() for p in readings}
    assert len(g.departments) == 14
    assert len({p.municipality for p in places if p.municipality}) == 44
    assert len({(p.department, p.district) for p in places if p.district}) == 262


@pytest.mark.parametrize(("name", "department"), KNOWN)
def test_municipality_list_maps_to_departments(name: str, department: str) -> None:
    found = find_places(f"Los hechos ocurrieron en {name} durante la madrugada.")
    assert found.departments == [department]
    assert found.municipalities and found.municipalities[0].startswith(department)


def test_a_list_in_one_text_keeps_the_order_of_mention() -> None:
    found = find_places("Capturas en Mejicanos, Zacatecoluca y Usulutan (sin tilde).")
    assert found.departments == ["San Salvador", "La Paz", "Usulután"]
    assert found.municipalities == ["San Salvador Centro", "La Paz Este", "Usulután Este"]


def test_san_miguel_city_versus_department() -> None:
    assert find_places("Un ataque en la ciudad de San Miguel.").municipalities == ["San Miguel Centro"]
    department = find_places("Capturas en el departamento de San Miguel.")
    assert department.departments == ["San Miguel"] and department.municipalities == []
    assert find_places("Ocurrió en San Miguel Tepezontes.").departments == ["La Paz"]


def test_phrases_that_are_not_places() -> None:
    text = "Se firmaron los Acuerdos de Paz; la paz social importa. El partido en el Estadio Cuscatlán."
    assert find_places(text).departments == []
    assert find_places("Santa Tecla FC ganó el clásico.").departments == []
    assert find_places("La delegación viajó a La Paz, Bolivia.").departments == []


def test_ambiguous_names_need_context() -> None:
    assert find_places("Victoria y Dolores llegaron tarde.").departments == []
    assert find_places("en el municipio de Victoria").departments == ["Cabañas"]
    assert find_places("en El Rosario, Morazán").districts == ["El Rosario"]
    assert find_places("en El Rosario, Morazán").departments == ["Morazán"]
    # a district named in several departments resolves through the department named elsewhere
    assert find_places("Zacatecoluca y El Rosario").departments == ["La Paz"]


def test_place_followed_by_its_department_is_not_the_department_capital() -> None:
    found = find_places("Colón, La Libertad")
    assert found.departments == ["La Libertad"] and found.districts == ["Colón"]


def test_empty_text() -> None:
    assert find_places("").departments == []
