import rxpro.operators


def test_all_lists_the_public_names_sorted() -> None:
    public = sorted(name for name in vars(rxpro.operators) if not name.startswith("_"))
    assert rxpro.operators.__all__ == public
    assert rxpro.operators.__all__ == sorted(rxpro.operators.__all__)


def test_every_public_operator_documents_an_example_and_a_marble_diagram() -> None:
    for name in rxpro.operators.__all__:
        obj = getattr(rxpro.operators, name)
        if callable(obj) and name[0].islower() and name != "default_scheduler":
            doc = obj.__doc__ or ""
            assert doc.strip().splitlines()[0], name
            assert "Example:" in doc, name
            assert ".. marble::" in doc, name
